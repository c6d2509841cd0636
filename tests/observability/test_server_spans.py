"""`TracingInterceptor`: one server span per request, the same on both frameworks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from mic.http import HttpRouterConfig, HttpRouteSpec
from mic.model import NotFoundError
from mic.observability import CorrelationIdInterceptor, TracingInterceptor
from mic.observability._server_spans import _host_and_port

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def get_item(*, item_id: int) -> dict[str, Any]:
    if item_id == 0:
        raise NotFoundError("item_not_found", "no such item")
    if item_id == 13:
        raise RuntimeError("boom")
    return {"id": item_id}


ROUTES = (
    HttpRouteSpec(
        method="GET", path="/items/{item_id}", name="items.get", category="items", handler=get_item
    ),
)


def build_app(framework: str, config: HttpRouterConfig | None = None) -> Any:
    config = config or HttpRouterConfig(
        interceptors=(TracingInterceptor(), CorrelationIdInterceptor())
    )
    if framework == "fastapi":
        from mic.fastapi import build_fastapi_app

        return build_fastapi_app(routes=ROUTES, config=config)
    from mic.litestar import build_litestar_app

    return build_litestar_app(routes=ROUTES, config=config)


async def fetch(app: Any, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 5050))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test:8080") as client:
        return await client.get(path, headers={"user-agent": "tests/1", **(headers or {})})


def server_spans(exported: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    return [span for span in exported if span.kind is SpanKind.SERVER]


async def test_a_request_gets_one_server_span_with_http_conventions(framework: str, spans) -> None:
    response = await fetch(build_app(framework), "/items/7?secret=x")
    assert 200 == response.status_code
    (span,) = spans.get_finished_spans()
    assert "GET /items/{item_id}" == span.name
    assert SpanKind.SERVER == span.kind
    assert {
        "http.request.method": "GET",
        "http.route": "/items/{item_id}",
        "url.path": "/items/7",
        "url.scheme": "http",
        "server.address": "api.test",
        "server.port": 8080,
        "client.address": "10.0.0.7",
        "user_agent.original": "tests/1",
        "http.response.status_code": 200,
    } == dict(span.attributes or {})
    assert StatusCode.UNSET == span.status.status_code


async def test_the_span_is_identical_on_both_frameworks(spans) -> None:
    for framework in ("fastapi", "litestar"):
        await fetch(build_app(framework), "/items/7")
    first, second = spans.get_finished_spans()
    assert (first.name, first.kind, first.attributes) == (
        second.name,
        second.kind,
        second.attributes,
    )


async def test_the_span_continues_the_callers_trace(framework: str, spans) -> None:
    headers = {"traceparent": PARENT, "tracestate": "vendor=abc"}
    await fetch(build_app(framework), "/items/7", headers)
    (span,) = spans.get_finished_spans()
    assert 0x0AF7651916CD43DD8448EB211C80319C == span.context.trace_id
    assert span.parent is not None
    assert 0xB7AD6B7169203331 == span.parent.span_id
    assert "vendor=abc" == span.context.trace_state.to_header()


async def test_a_4xx_is_not_an_error_and_a_5xx_is(framework: str, spans) -> None:
    app = build_app(framework)
    assert 404 == (await fetch(app, "/items/0")).status_code
    assert 500 == (await fetch(app, "/items/13")).status_code
    not_found, failed = spans.get_finished_spans()
    assert StatusCode.UNSET == not_found.status.status_code
    assert StatusCode.ERROR == failed.status.status_code
    assert "500" == (failed.attributes or {})["error.type"]


async def test_the_frameworks_own_instrumentation_is_not_doubled(framework: str, spans) -> None:
    from mic import _trace

    app = OpenTelemetryMiddleware(build_app(framework), tracer_provider=_trace._state["provider"])
    await fetch(app, "/items/7")
    (span,) = server_spans(spans.get_finished_spans())
    assert "GET /items/{item_id}" == span.name
    assert "/items/{item_id}" == (span.attributes or {})["http.route"]
    assert span.instrumentation_scope is not None
    assert "mic" != span.instrumentation_scope.name


async def test_without_a_configured_sdk_requests_are_served_and_ids_pass_through(
    framework: str,
) -> None:
    async def echo(*, item_id: int) -> dict[str, Any]:
        from mic.client import propagation_headers

        return propagation_headers()

    routes = (
        HttpRouteSpec(method="GET", path="/items/{item_id}", name="i", category="c", handler=echo),
    )
    config = HttpRouterConfig(interceptors=(TracingInterceptor(), CorrelationIdInterceptor()))
    if framework == "fastapi":
        from mic.fastapi import build_fastapi_app

        app: Any = build_fastapi_app(routes=routes, config=config)
    else:
        from mic.litestar import build_litestar_app

        app = build_litestar_app(routes=routes, config=config)
    headers = {"traceparent": PARENT, "tracestate": "a=1", "x-request-id": "r-1"}
    body = (await fetch(app, "/items/1", headers)).json()
    assert {"traceparent": PARENT, "tracestate": "a=1", "x-request-id": "r-1"} == body


@pytest.mark.parametrize(
    ("host", "scheme", "expected"),
    [
        (None, "http", (None, None)),
        ("api.test", "http", ("api.test", 80)),
        ("api.test", "https", ("api.test", 443)),
        ("api.test:8080", "http", ("api.test", 8080)),
        ("api.test:x", "http", ("api.test", None)),
        ("[::1]:9000", "http", ("[::1]", 9000)),
        ("[::1]", "https", ("[::1]", 443)),
    ],
)
def test_server_address_and_port_come_from_the_host_header(
    host: str | None, scheme: str, expected: tuple[str | None, int | None]
) -> None:
    assert expected == _host_and_port(host, scheme)

"""`ServiceHttpClient` under OpenTelemetry: a client span per attempt, sent as the parent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from mic import _trace
from mic import context as mic_context
from mic.client import ServiceHttpClient, propagation_headers
from mic.model import NotFoundError, TransientError
from mic.resilience import RetryPolicy

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def recording(*statuses: int) -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []
    answers = list(statuses)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = answers.pop(0) if answers else 200
        if status >= 400:
            return httpx.Response(
                status,
                json={"code": "item_not_found", "detail": "gone"},
                headers={"content-type": "application/problem+json"},
            )
        return httpx.Response(status, json={})

    return seen, httpx.MockTransport(answer)


def client(transport: httpx.MockTransport, **options: Any) -> ServiceHttpClient:
    options.setdefault("retry", RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.001))
    return ServiceHttpClient("http://user:pw@billing:8000/api", transport=transport, **options)


async def test_each_attempt_is_a_client_span_sent_as_the_parent(spans: Any) -> None:
    seen, transport = recording(503, 200)
    tracer = _trace.tracer()
    async with client(transport) as billing:
        with tracer.start_as_current_span("handler") as handler:
            await billing.get("/invoices/1", params={"token": "secret"})
    first, second, parent = spans.get_finished_spans()
    assert handler.get_span_context().span_id == parent.context.span_id
    assert [SpanKind.CLIENT, SpanKind.CLIENT] == [first.kind, second.kind]
    assert {
        "http.request.method": "GET",
        "url.full": "http://billing:8000/api/invoices/1",
        "server.address": "billing",
        "server.port": 8000,
        "http.response.status_code": 503,
        "error.type": "503",
    } == dict(first.attributes or {})
    assert 1 == (second.attributes or {})["http.request.resend_count"]
    assert StatusCode.ERROR == first.status.status_code
    for request, span in zip(seen, (first, second), strict=True):
        context = span.context
        expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
        assert expected == request.headers["traceparent"]
        assert span.parent is not None
        assert parent.context.span_id == span.parent.span_id


async def test_the_callers_tracestate_is_kept(spans: Any) -> None:
    seen, transport = recording(200)
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    parent = TraceContextTextMapPropagator().extract(
        {"traceparent": CALLER, "tracestate": "vendor=abc,other=1"}
    )
    with _trace.tracer().start_as_current_span("server", context=parent):
        async with client(transport) as billing:
            await billing.get("/x")
    assert "vendor=abc,other=1" == seen[0].headers["tracestate"]
    assert seen[0].headers["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert "b7ad6b7169203331" not in seen[0].headers["traceparent"]


async def test_a_4xx_marks_the_client_span_failed(spans: Any) -> None:
    _, transport = recording(404)
    async with client(transport) as billing:
        with pytest.raises(NotFoundError, match="gone"):
            await billing.get("/x")
    (span,) = spans.get_finished_spans()
    assert ("404", StatusCode.ERROR) == (
        (span.attributes or {})["error.type"],
        span.status.status_code,
    )


async def test_an_unreachable_target_names_the_error(spans: Any) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with client(httpx.MockTransport(refuse), retry=RetryPolicy(attempts=1)) as billing:
        with pytest.raises(TransientError, match="failed"):
            await billing.get("/x")
    (span,) = spans.get_finished_spans()
    assert "upstream_unavailable" == (span.attributes or {})["error.type"]
    assert "http.response.status_code" not in (span.attributes or {})


async def test_a_header_the_caller_sets_wins(spans: Any) -> None:
    seen, transport = recording(200)
    async with client(transport) as billing:
        await billing.get("/x", headers={"traceparent": CALLER})
    assert CALLER == seen[0].headers["traceparent"]


def test_without_a_span_the_arrived_headers_pass_unchanged() -> None:
    tokens = (mic_context.traceparent.set(CALLER), mic_context.tracestate.set("a=1"))
    try:
        assert {"traceparent": CALLER, "tracestate": "a=1"} == propagation_headers()
    finally:
        mic_context.tracestate.reset(tokens[1])
        mic_context.traceparent.reset(tokens[0])


def test_the_sync_twin_traces_in_the_callers_span(spans: Any) -> None:
    from mic.client import SyncServiceHttpClient

    seen, transport = recording(200)
    with (
        SyncServiceHttpClient("http://billing", transport=transport) as billing,
        _trace.tracer().start_as_current_span("job") as job,
    ):
        billing.get("/x")
    client_span, job_span = spans.get_finished_spans()
    assert job.get_span_context().span_id == job_span.context.span_id
    assert client_span.parent is not None
    assert job_span.context.span_id == client_span.parent.span_id
    assert f"{client_span.context.span_id:016x}" == seen[0].headers["traceparent"].split("-")[2]

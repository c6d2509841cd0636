"""CorrelationIdInterceptor on both frameworks: read, validate, generate, echo, context."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from mic import context as mic_context
from mic.http import HttpRequestContext, HttpRouterConfig, HttpRouteSpec
from mic.observability import (
    CorrelationIdInterceptor,
    TraceParent,
    configure_logging,
    current_route,
    parse_traceparent,
)
from tests.support import make_client

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
seen: list[dict[str, Any]] = []
log = logging.getLogger("tests.observability.correlation")


async def _handler(*, item_id: str, context: HttpRequestContext) -> dict[str, Any]:
    snapshot = {
        "context": context.correlation_id,
        "var": mic_context.correlation_id.get(),
        "traceparent": mic_context.traceparent.get(),
        "route": current_route.get(),
    }
    seen.append(snapshot)
    log.info("handling %s", item_id)
    return snapshot


def _sync_handler() -> dict[str, Any]:
    return {"var": mic_context.correlation_id.get()}


ROUTES = (
    HttpRouteSpec(
        method="GET", path="/items/{item_id}", name="items.get", category="items", handler=_handler
    ),
    HttpRouteSpec(method="GET", path="/sync", name="sync", category="items", handler=_sync_handler),
)
CONFIG = HttpRouterConfig(interceptors=(CorrelationIdInterceptor(generate=lambda: "generated"),))


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(stream=stream, logger=log)
    yield stream
    for handler in list(log.handlers):
        log.removeHandler(handler)


async def test_incoming_id_is_used_echoed_and_in_context(
    framework: str, log_stream: io.StringIO
) -> None:
    async with make_client(framework, ROUTES, CONFIG) as client:
        response = await client.get(
            "/items/7", headers={"X-Request-ID": "abc-123", "traceparent": TRACEPARENT}
        )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc-123"
    assert response.json() == {
        "context": "abc-123",
        "var": "abc-123",
        "traceparent": TRACEPARENT,
        "route": "/items/{item_id}",
    }
    line = json.loads(log_stream.getvalue().splitlines()[-1])
    assert line["correlation_id"] == "abc-123"
    assert line["route"] == "/items/{item_id}"
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert mic_context.correlation_id.get() is None
    assert current_route.get() is None


async def test_correlation_header_is_echoed_under_its_own_name(framework: str) -> None:
    async with make_client(framework, ROUTES, CONFIG) as client:
        response = await client.get("/items/1", headers={"X-Correlation-ID": "corr-1"})
    assert response.headers["x-correlation-id"] == "corr-1"
    assert "x-request-id" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Request-ID": "x" * 129},
        {"X-Request-ID": "bad id with spaces"},
        {"X-Request-ID": 'quote"'},
        {"X-Request-ID": ""},
    ],
)
async def test_missing_or_invalid_ids_are_replaced(framework: str, headers: dict[str, str]) -> None:
    async with make_client(framework, ROUTES, CONFIG) as client:
        response = await client.get("/items/1", headers=headers)
    assert response.headers["x-request-id"] == "generated"
    assert response.json()["var"] == "generated"


async def test_invalid_traceparent_is_ignored(framework: str) -> None:
    async with make_client(framework, ROUTES, CONFIG) as client:
        response = await client.get("/items/1", headers={"traceparent": "00-zz"})
    assert response.json()["traceparent"] is None


async def test_sync_handlers_see_the_id(framework: str) -> None:
    async with make_client(framework, ROUTES, CONFIG) as client:
        response = await client.get("/sync", headers={"X-Request-ID": "s-1"})
    assert response.json() == {"var": "s-1"}


async def test_default_generator_makes_uuid_hex(framework: str) -> None:
    config = HttpRouterConfig(interceptors=(CorrelationIdInterceptor(),))
    async with make_client(framework, ROUTES, config) as client:
        first = (await client.get("/items/1")).headers["x-request-id"]
        second = (await client.get("/items/1")).headers["x-request-id"]
    assert len(first) == 32
    assert first != second


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"header_names": ()}, "at least one"), ({"max_length": 0}, "between 1 and 1024")],
)
def test_invalid_configuration(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CorrelationIdInterceptor(**kwargs)


def test_accepts() -> None:
    interceptor = CorrelationIdInterceptor(max_length=8)
    assert interceptor.accepts("Root=1-a")
    assert not interceptor.accepts("123456789")
    assert not interceptor.accepts("a\nb")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            TRACEPARENT,
            TraceParent("00", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "01"),
        ),
        (TRACEPARENT + "-extra", None),
        (
            "01" + TRACEPARENT[2:] + "-future",
            TraceParent("01", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "01"),
        ),
        ("01" + TRACEPARENT[2:] + "x", None),
        ("ff" + TRACEPARENT[2:], None),
        ("00-" + "0" * 32 + "-00f067aa0ba902b7-01", None),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01", None),
        (TRACEPARENT.upper(), None),
        ("", None),
    ],
)
def test_parse_traceparent(value: str, expected: TraceParent | None) -> None:
    assert parse_traceparent(value) == expected


def test_sampled_flag() -> None:
    parsed = parse_traceparent(TRACEPARENT)
    assert parsed is not None
    assert parsed.sampled
    unsampled = parse_traceparent(TRACEPARENT[:-2] + "00")
    assert unsampled is not None
    assert not unsampled.sampled


async def _fails() -> None:
    raise RuntimeError("boom")


async def test_id_is_echoed_on_error_answers_and_reset_afterwards(framework: str) -> None:
    routes = (
        *ROUTES,
        HttpRouteSpec(method="GET", path="/fails", name="fails", category="items", handler=_fails),
    )
    async with make_client(framework, routes, CONFIG) as client:
        response = await client.get("/fails", headers={"X-Request-ID": "abc-1"})
    assert (response.status_code, response.headers["x-request-id"]) == (500, "abc-1")
    assert mic_context.correlation_id.get() is None

"""One trace from an HTTP request through the outbox, NATS and a consumer to an outgoing call.

The issue's acceptance test, on both frameworks, checked with the SDK's in-memory exporter:
the server span (continuing the caller's ``traceparent``), the producer span of the outbox
dispatcher's publish, the consumer span of the handler and the client span of its call all
share one trace, each the parent of the next, and the downstream service receives the client
span as its parent with the caller's ``tracestate`` kept.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from opentelemetry.trace import SpanKind
from pydantic import BaseModel

from mic.client import ServiceHttpClient
from mic.datastorage import InMemoryDataStorage
from mic.eventbus import Event
from mic.http import HttpRouterConfig, HttpRouteSpec
from mic.observability import CorrelationIdInterceptor, TracingInterceptor
from mic.outbox import InMemoryOutboxStore, OutboxDispatcher
from tests.eventbus.conftest import nats_bus
from tests.support import eventually

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


class Order(BaseModel):
    """An order, stored with its event in one unit of work."""

    id: int
    version: int = 0
    total: float


class PlaceOrder(BaseModel):
    """The request body."""

    id: int
    total: float


def build_app(framework: str, orders: InMemoryDataStorage[Order], outbox: Any) -> Any:
    async def place_order(*, payload: PlaceOrder) -> dict[str, int]:
        async with orders.unit_of_work():
            await orders.add(Order(id=payload.id, total=payload.total))
            await outbox.add(Event("orders.placed", {"order": payload.id}))
        return {"id": payload.id}

    routes = (
        HttpRouteSpec(
            method="POST",
            path="/orders",
            name="orders.place",
            category="orders",
            handler=place_order,
            status_code=201,
        ),
    )
    config = HttpRouterConfig(interceptors=(TracingInterceptor(), CorrelationIdInterceptor()))
    if framework == "fastapi":
        from mic.fastapi import build_fastapi_app

        return build_fastapi_app(routes=routes, config=config)
    from mic.litestar import build_litestar_app

    return build_litestar_app(routes=routes, config=config)


@pytest.mark.nats
async def test_one_trace_from_request_to_downstream_call(
    framework: str, nats_url: str, spans: Any
) -> None:
    received: list[httpx.Request] = []

    def billing(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(202, json={"ok": True})

    orders = InMemoryDataStorage(Order)
    outbox = InMemoryOutboxStore()
    app = build_app(framework, orders, outbox)
    async for bus in nats_bus(nats_url):
        async with ServiceHttpClient(
            "http://billing",
            transport=httpx.MockTransport(billing),
        ) as client:

            async def bill(event: Event) -> None:
                await client.post("/invoices", json=event.payload)

            await bus.subscribe("orders.placed", bill, group="billing")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://orders") as http:
                response = await http.post(
                    "/orders",
                    json={"id": 1, "total": 9.5},
                    headers={"traceparent": CALLER, "tracestate": "vendor=abc"},
                )
            assert 201 == response.status_code
            assert 1 == await OutboxDispatcher(outbox, bus).run_once()
            await eventually(lambda: bool(received))
            await eventually(lambda: len(spans.get_finished_spans()) >= 4)

    by_kind = {span.kind: span for span in spans.get_finished_spans()}
    server, producer = by_kind[SpanKind.SERVER], by_kind[SpanKind.PRODUCER]
    consumer, client_span = by_kind[SpanKind.CONSUMER], by_kind[SpanKind.CLIENT]
    assert {int(TRACE_ID, 16)} == {
        span.context.trace_id for span in (server, producer, consumer, client_span)
    }
    assert 0x00F067AA0BA902B7 == server.parent.span_id  # type: ignore[union-attr]
    assert server.context.span_id == producer.parent.span_id  # type: ignore[union-attr]
    assert producer.context.span_id == consumer.parent.span_id  # type: ignore[union-attr]
    assert consumer.context.span_id == client_span.parent.span_id  # type: ignore[union-attr]
    assert ("POST /orders", "send orders.placed", "process orders.placed", "POST") == (
        server.name,
        producer.name,
        consumer.name,
        client_span.name,
    )
    assert "nats" == (consumer.attributes or {})["messaging.system"]
    (call,) = received
    assert (
        f"00-{TRACE_ID}-{client_span.context.span_id:016x}-01" == call.headers["traceparent"]
    )  # the caller sampled
    assert "vendor=abc" == call.headers["tracestate"]

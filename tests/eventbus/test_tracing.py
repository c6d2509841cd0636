"""Producer and consumer spans, and the trace context an event carries."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from mic import _trace
from mic import context as mic_context
from mic.eventbus import Event, EventBus, InMemoryEventBus
from tests.support import eventually

from .conftest import FAST

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_an_event_made_in_a_span_carries_that_span_and_its_tracestate(spans: Any) -> None:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    parent = TraceContextTextMapPropagator().extract(
        {"traceparent": CALLER, "tracestate": "vendor=abc"}
    )
    stale = mic_context.traceparent.set(CALLER)
    try:
        with _trace.tracer().start_as_current_span("handler", context=parent) as span:
            event = Event("orders.placed")
    finally:
        mic_context.traceparent.reset(stale)
    context = span.get_span_context()
    assert f"00-{context.trace_id:032x}-{context.span_id:016x}-01" == event.traceparent
    assert "vendor=abc" == event.tracestate


def test_the_tracestate_survives_encoding() -> None:
    event = Event("t", traceparent=CALLER, tracestate="a=1")
    assert "a=1" == Event.decode(event.encode()).tracestate
    assert Event.from_dict({**event.to_dict(), "tracestate": None}).tracestate is None


def test_an_explicit_traceparent_keeps_no_tracestate_of_the_context() -> None:
    tokens = (mic_context.traceparent.set(CALLER), mic_context.tracestate.set("a=1"))
    try:
        assert (CALLER, "a=1") == (Event("t").traceparent, Event("t").tracestate)
        assert Event("t", traceparent=CALLER).tracestate is None
    finally:
        mic_context.tracestate.reset(tokens[1])
        mic_context.traceparent.reset(tokens[0])


def test_a_tracestate_must_be_text() -> None:
    with pytest.raises(TypeError, match="tracestate must be a string"):
        Event("t", tracestate=b"a=1")  # type: ignore[arg-type]


async def test_publish_and_handle_are_producer_and_consumer_spans(spans: Any) -> None:
    handled: list[Event] = []

    async def handler(event: Event) -> None:
        handled.append(event)

    async with InMemoryEventBus(options=FAST) as bus:
        await bus.subscribe("orders.placed", handler, group="billing")
        await bus.publish(
            Event("orders.placed", {"n": 1}, id="e-1", traceparent=CALLER, tracestate="vendor=abc")
        )
        await eventually(lambda: len(spans.get_finished_spans()) == 2)
    producer, consumer = spans.get_finished_spans()
    assert ("send orders.placed", SpanKind.PRODUCER) == (producer.name, producer.kind)
    assert ("process orders.placed", SpanKind.CONSUMER) == (consumer.name, consumer.kind)
    assert {
        "messaging.system": "memory",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.destination.name": "orders.placed",
        "messaging.message.id": "e-1",
    } == dict(producer.attributes or {})
    assert "billing" == (consumer.attributes or {})["messaging.consumer.group.name"]
    assert producer.parent is not None
    assert 0xB7AD6B7169203331 == producer.parent.span_id
    assert consumer.parent is not None
    assert producer.context.span_id == consumer.parent.span_id
    (event,) = handled
    assert f"{producer.context.span_id:016x}" == event.traceparent.split("-")[2]  # type: ignore[union-attr]
    assert "vendor=abc" == event.tracestate


async def test_a_failing_handler_marks_its_span(spans: Any) -> None:
    async def handler(event: Event) -> None:
        raise ValueError("no")

    async with InMemoryEventBus(options=FAST) as bus:
        await bus.subscribe("orders.placed", handler, group="billing")
        await bus.publish(Event("orders.placed"))
        await eventually(lambda: len(spans.get_finished_spans()) >= 3)
    consumer = next(s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER)
    assert StatusCode.ERROR == consumer.status.status_code
    assert "ValueError" == (consumer.attributes or {})["error.type"]
    assert ["exception"] == [e.name for e in consumer.events]


async def test_every_bus_names_its_system(bus: EventBus, spans: Any) -> None:
    await bus.publish(Event("orders.placed"))
    (producer,) = spans.get_finished_spans()
    assert type(bus).messaging_system == (producer.attributes or {})["messaging.system"]
    assert type(bus).messaging_system in {"memory", "redis", "nats"}


async def test_without_tracing_the_event_is_published_unchanged() -> None:
    handled: list[Event] = []

    async def handler(event: Event) -> None:
        handled.append(event)

    async with InMemoryEventBus(options=FAST) as bus:
        await bus.subscribe("t", handler, group="g")
        sent = Event("t", traceparent=CALLER, tracestate="a=1")
        await bus.publish(sent)
        await eventually(lambda: bool(handled))
    assert sent == handled[0]

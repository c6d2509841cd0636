"""Event specs on every bus: validated on publish and on arrival, mismatches dead-lettered."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from mic.eventbus import (
    DEAD_LETTER_DETAIL,
    DEAD_LETTER_REASON,
    EVENT_VERSION_HEADER,
    Event,
    EventBus,
    EventContractError,
    EventSpec,
    InMemoryEventBus,
    ReceivedEvent,
    SubscriptionOptions,
)
from tests.eventbus.conftest import FAST
from tests.support import eventually


class OrderPlaced(BaseModel):
    order_id: int
    total: float = Field(ge=0)


class OrderPlacedV2(BaseModel):
    order_id: int
    total_cents: int


PLACED = EventSpec("orders.placed", OrderPlaced, description="An order was placed")
PLACED_V2 = EventSpec("orders.placed", OrderPlacedV2, version=2)


class Typed:
    """A handler recording validated deliveries."""

    def __init__(self) -> None:
        self.received: list[ReceivedEvent[Any]] = []

    async def __call__(self, received: ReceivedEvent[Any]) -> None:
        self.received.append(received)


class Plain:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)


async def test_a_typed_subscriber_receives_the_validated_payload(bus: EventBus) -> None:
    handler = Typed()
    await bus.subscribe(PLACED, handler, group="billing")
    sent = await PLACED.publish(bus, OrderPlaced(order_id=7, total=9.5))
    await eventually(lambda: len(handler.received) == 1)
    received = handler.received[0]
    assert OrderPlaced(order_id=7, total=9.5) == received.payload
    assert sent.id == received.id
    assert PLACED is received.spec
    assert "1" == received.event.headers[EVENT_VERSION_HEADER]


async def test_wrong_shape_unknown_version_and_poison_go_to_dead_letters(bus: EventBus) -> None:
    """The consumer survives all three and still handles the valid event after them."""
    handler, dead = Typed(), Plain()
    await bus.subscribe(PLACED, handler, group="billing")
    await bus.subscribe("orders.placed.dead-letter", dead, group="ops")
    await bus.publish(Event("orders.placed", {"order_id": "seven", "total": -1}))
    await bus.publish(PLACED_V2.event({"order_id": 1, "total_cents": 950}))
    await bus.publish(Event("orders.placed", {"n": 1}, headers={EVENT_VERSION_HEADER: "x"}))
    valid = await PLACED.publish(bus, {"order_id": 8, "total": 1})
    await eventually(lambda: len(dead.events) == 3 and len(handler.received) == 1)
    assert [valid.id] == [received.id for received in handler.received]
    reasons = [event.headers[DEAD_LETTER_REASON] for event in dead.events]
    assert ["InvalidEventPayload", "UnknownEventVersion", "UnknownEventVersion"] == reasons
    detail = dead.events[0].headers[DEAD_LETTER_DETAIL]
    assert "order_id: int_parsing; total: greater_than_equal" == detail
    assert "seven" not in detail  # locations and types only, never the values
    assert "version 2; this consumer reads 1" == dead.events[1].headers[DEAD_LETTER_DETAIL]


async def test_one_handler_reads_two_versions_of_a_topic(bus: EventBus) -> None:
    handler = Typed()
    await bus.subscribe([PLACED, PLACED_V2], handler, group="billing")
    await PLACED.publish(bus, {"order_id": 1, "total": 2})
    await PLACED_V2.publish(bus, {"order_id": 2, "total_cents": 300})
    await eventually(lambda: len(handler.received) == 2)
    assert [PLACED, PLACED_V2] == [received.spec for received in handler.received]
    assert OrderPlacedV2(order_id=2, total_cents=300) == handler.received[1].payload


async def test_an_event_without_a_version_header_reads_as_version_1(bus: EventBus) -> None:
    """Events published before the topic had a spec stay readable."""
    handler = Typed()
    await bus.subscribe(PLACED, handler, group="billing")
    await bus.publish(Event("orders.placed", {"order_id": 3, "total": 0}))
    await eventually(lambda: len(handler.received) == 1)
    assert 3 == handler.received[0].payload.order_id


async def _poison_survived(bus: EventBus, inject: Any) -> None:
    handler, dead = Typed(), Plain()
    await bus.subscribe(PLACED, handler, group="billing")
    await bus.subscribe("orders.placed.dead-letter", dead, group="ops")
    await inject(bus)
    sent = await PLACED.publish(bus, {"order_id": 1, "total": 1})
    await eventually(lambda: len(dead.events) == 1 and len(handler.received) == 1)
    assert "UndecodableEvent" == dead.events[0].headers[DEAD_LETTER_REASON]
    assert sent.id == handler.received[0].id


@pytest.mark.redis
async def test_a_poisoned_redis_message_does_not_stop_a_typed_consumer(redis_url: str) -> None:
    from tests.eventbus.conftest import redis_bus

    async def inject(bus: Any) -> None:
        await bus.client.xadd(bus.key("orders.placed"), {"event": b"\xff{not json"})

    async for bus in redis_bus(redis_url):
        await _poison_survived(bus, inject)


@pytest.mark.nats
async def test_a_poisoned_nats_message_does_not_stop_a_typed_consumer(nats_url: str) -> None:
    from tests.eventbus.conftest import nats_bus

    async def inject(bus: Any) -> None:
        await bus.jetstream.publish(bus.subject("orders.placed"), b"[1, 2")

    async for bus in nats_bus(nats_url):
        await _poison_survived(bus, inject)


async def test_without_dead_letters_a_mismatch_is_retried_not_handled() -> None:
    options = SubscriptionOptions(
        dead_letter=False, retry_delay=0.01, max_retry_delay=0.01, poll_timeout=0.1
    )
    async with InMemoryEventBus(options=options) as bus:
        handler = Typed()
        await bus.subscribe(PLACED, handler, group="billing")
        await bus.publish(Event("orders.placed", {"order_id": "x", "total": 1}))
        await eventually(lambda: bus.pending("orders.placed", "billing") == 1)
        sent = await PLACED.publish(bus, {"order_id": 1, "total": 1})
        await eventually(lambda: len(handler.received) == 1)
        assert sent.id == handler.received[0].id
        assert 1 == bus.pending("orders.placed", "billing")  # the bad one, retrying forever


async def test_a_failed_dead_letter_publish_retries_the_event() -> None:
    class FailingDeadLetters(InMemoryEventBus):
        failures = 1

        async def publish(self, event: Event) -> None:
            if event.topic.endswith(".dead-letter") and self.failures:
                self.failures -= 1
                raise ConnectionError("down")
            await super().publish(event)

    async with FailingDeadLetters(options=FAST) as bus:
        dead = Plain()
        await bus.subscribe(PLACED, Typed(), group="billing")
        await bus.subscribe("orders.placed.dead-letter", dead, group="ops")
        await bus.publish(Event("orders.placed", {"order_id": "x", "total": 1}))
        await eventually(lambda: len(dead.events) == 1)
        assert 0 == bus.failures


async def test_subscribe_refuses_a_mix_of_specs_and_names_and_duplicate_versions() -> None:
    async with InMemoryEventBus() as bus:
        with pytest.raises(TypeError, match="not a mix of both"):
            await bus.subscribe([PLACED, "orders.other"], Typed(), group="g")  # type: ignore[list-item]
        with pytest.raises(ValueError, match=r"two specs for 'orders\.placed' version 1"):
            await bus.subscribe([PLACED, PLACED], Typed(), group="g")
        with pytest.raises(ValueError, match="invalid group"):
            await bus.subscribe(PLACED, Typed(), group="no spaces")
        with pytest.raises(ValueError, match="at least one topic"):
            await bus.subscribe([], Plain(), group="g")


async def test_publish_refuses_a_payload_of_the_wrong_shape_before_sending() -> None:
    async with InMemoryEventBus() as bus:
        dead = Plain()
        await bus.subscribe("orders.placed", dead, group="any")
        with pytest.raises(EventContractError, match=r"InvalidEventPayload: total: missing"):
            await PLACED.publish(bus, {"order_id": 1})
        assert 0 == bus.pending("orders.placed", "any")

"""One behaviour suite for every `EventBus`: memory, Redis Streams and NATS JetStream."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from mic import context
from mic.eventbus import (
    DEAD_LETTER_ATTEMPTS,
    DEAD_LETTER_GROUP,
    DEAD_LETTER_REASON,
    DEAD_LETTER_TOPIC,
    Event,
    EventBus,
    SubscriptionOptions,
)
from mic.healthcheck import ping_probe
from tests.eventbus.conftest import FAST
from tests.support import eventually


class Recorder:
    """A handler that records events, failing the first `failures` attempts of each."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.events: list[Event] = []
        self.attempts: Counter[str] = Counter()

    async def __call__(self, event: Event) -> None:
        self.attempts[event.id] += 1
        if self.attempts[event.id] <= self.failures:
            raise RuntimeError("handler failed")
        self.events.append(event)


async def test_a_subscriber_receives_the_published_event(bus: EventBus) -> None:
    received = Recorder()
    await bus.subscribe("orders.created", received, group="billing")
    sent = Event(
        "orders.created",
        {"order": 1, "items": [{"sku": "a", "qty": 2.5}]},
        headers={"source": "test"},
        correlation_id="c-1",
    )
    await bus.publish(sent)
    await eventually(lambda: len(received.events) == 1)
    assert [sent] == received.events


async def test_every_group_gets_each_event_and_each_group_handles_it_once(bus: EventBus) -> None:
    billing_a, billing_b, shipping = Recorder(), Recorder(), Recorder()
    await bus.subscribe("orders.created", billing_a, group="billing")
    await bus.subscribe("orders.created", billing_b, group="billing")
    await bus.subscribe("orders.created", shipping, group="shipping")
    sent = [Event("orders.created", {"n": n}) for n in range(20)]
    for event in sent:
        await bus.publish(event)
    await eventually(lambda: len(shipping.events) == 20)
    await eventually(lambda: len(billing_a.events) + len(billing_b.events) == 20)
    billing_ids = [event.id for event in billing_a.events + billing_b.events]
    assert sorted(event.id for event in sent) == sorted(billing_ids)
    assert [event.id for event in sent] == [event.id for event in shipping.events]


async def test_events_of_a_topic_are_handled_in_order(bus: EventBus) -> None:
    received = Recorder()
    await bus.subscribe("ticks", received, group="g")
    for n in range(30):
        await bus.publish(Event("ticks", {"n": n}))
    await eventually(lambda: len(received.events) == 30)
    assert list(range(30)) == [event.payload["n"] for event in received.events]


async def test_one_subscription_covers_several_topics(bus: EventBus) -> None:
    received = Recorder()
    subscription = await bus.subscribe(["a.one", "b.two", "a.one"], received, group="g")
    await bus.publish(Event("a.one", {"n": 1}))
    await bus.publish(Event("b.two", {"n": 2}))
    await bus.publish(Event("c.three", {"n": 3}))
    await eventually(lambda: len(received.events) == 2)
    assert {"a.one", "b.two"} == {event.topic for event in received.events}
    assert ("a.one", "b.two", "a.one") == subscription.topics


async def test_a_failed_event_is_redelivered_until_the_handler_succeeds(bus: EventBus) -> None:
    received = Recorder(failures=2)
    await bus.subscribe("jobs", received, group="workers")
    event = Event("jobs", {"job": 1})
    await bus.publish(event)
    await eventually(lambda: len(received.events) == 1)
    await bus.publish(Event("jobs", {"job": 2}))
    await eventually(lambda: len(received.events) == 2)
    assert 3 == received.attempts[event.id]  # acknowledged after success: never again


async def test_after_the_last_attempt_the_event_goes_to_the_dead_letter_topic(
    bus: EventBus,
) -> None:
    failing, dead = Recorder(failures=100), Recorder()
    await bus.subscribe("payments", failing, group="ledger")
    await bus.subscribe("payments.dead-letter", dead, group="ops")
    event = Event("payments", {"amount": 3}, headers={"h": "v"}, correlation_id="c-9")
    await bus.publish(event)
    await eventually(lambda: len(dead.events) == 1)
    letter = dead.events[0]
    assert (event.id, event.payload, "c-9") == (letter.id, letter.payload, letter.correlation_id)
    assert {
        "h": "v",
        DEAD_LETTER_TOPIC: "payments",
        DEAD_LETTER_GROUP: "ledger",
        DEAD_LETTER_REASON: "RuntimeError",
        DEAD_LETTER_ATTEMPTS: "3",
    } == letter.headers
    assert 3 == failing.attempts[event.id]


async def test_the_handler_sees_the_event_context_and_it_is_reset_after(bus: EventBus) -> None:
    seen: list[tuple[str | None, str | None]] = []
    after: list[str | None] = []

    async def handler(event: Event) -> None:
        seen.append((context.correlation_id.get(), context.traceparent.get()))

    async def later(event: Event) -> None:
        after.append(context.correlation_id.get())

    await bus.subscribe("ctx", handler, group="g")
    await bus.subscribe("ctx.bare", later, group="g")
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    token = context.correlation_id.set("req-42")
    trace = context.traceparent.set(parent)
    try:
        await bus.publish(Event("ctx", {}))
    finally:
        context.traceparent.reset(trace)
        context.correlation_id.reset(token)
    await bus.publish(Event("ctx.bare", {}))
    await eventually(lambda: len(seen) == 1 and len(after) == 1)
    assert [("req-42", parent)] == seen
    assert [None] == after


async def test_close_waits_for_the_running_handler(bus: EventBus) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def slow(event: Event) -> None:
        started.set()
        await release.wait()
        finished.append(event.id)

    subscription = await bus.subscribe("slow", slow, group="g")
    event = Event("slow", {})
    await bus.publish(event)
    await asyncio.wait_for(started.wait(), 5)
    closing = asyncio.create_task(subscription.close())
    await asyncio.sleep(0)
    assert not closing.done()
    release.set()
    await asyncio.wait_for(closing, 5)
    assert [event.id] == finished
    await subscription.close()  # idempotent
    again = Recorder()
    await bus.subscribe("slow", again, group="g")
    await bus.publish(Event("slow", {"n": 2}))
    await eventually(lambda: len(again.events) == 1)
    assert [{"n": 2}] == [e.payload for e in again.events]  # the first one was acknowledged


async def test_an_event_whose_handler_was_cancelled_is_redelivered(bus: EventBus) -> None:
    started = asyncio.Event()

    async def hangs(event: Event) -> None:
        started.set()
        await asyncio.Event().wait()

    options = SubscriptionOptions(**{**_fields(FAST), "drain_timeout": 0.05})
    stuck = await bus.subscribe("work", hangs, group="g", options=options)
    event = Event("work", {"n": 1})
    await bus.publish(event)
    await asyncio.wait_for(started.wait(), 5)
    await stuck.close()
    rescuer = Recorder()
    await bus.subscribe("work", rescuer, group="g")
    await eventually(lambda: len(rescuer.events) == 1)
    assert event.id == rescuer.events[0].id


async def test_a_new_group_starts_with_events_published_after_it(bus: EventBus) -> None:
    early = Recorder()
    await bus.subscribe("news", early, group="early")
    await bus.publish(Event("news", {"n": 1}))
    await eventually(lambda: len(early.events) == 1)
    late = Recorder()
    await bus.subscribe("news", late, group="late")
    await bus.publish(Event("news", {"n": 2}))
    await eventually(lambda: len(late.events) == 1 and len(early.events) == 2)
    assert [{"n": 2}] == [event.payload for event in late.events]


async def test_a_closed_bus_refuses_work(bus: EventBus) -> None:
    await bus.close()
    with pytest.raises(RuntimeError, match="closed"):
        await bus.publish(Event("t", {}))
    with pytest.raises(RuntimeError, match="closed"):
        await bus.subscribe("t", Recorder(), group="g")
    await bus.close()  # idempotent


@pytest.mark.parametrize(
    ("topics", "group", "message"),
    [
        ("", "g", "invalid topic"),
        ("a.*", "g", "invalid topic"),
        ((), "g", "at least one"),
        ("t", "a.b", "invalid group"),
        ("t", "", "invalid group"),
    ],
)
async def test_bad_subscriptions_are_refused(
    bus: EventBus, topics: str | tuple[str, ...], group: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await bus.subscribe(topics, Recorder(), group=group)


async def test_bad_publishes_and_handlers_are_typed_errors(bus: EventBus) -> None:
    with pytest.raises(TypeError, match="publish takes an Event, not dict"):
        await bus.publish({"topic": "t"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="handler must be an async callable"):
        await bus.subscribe("t", "not a handler", group="g")  # type: ignore[arg-type]


async def test_a_retry_waits_for_its_delay(bus: EventBus) -> None:
    seen: list[float] = []
    loop = asyncio.get_running_loop()

    async def fails_once(event: Event) -> None:
        seen.append(loop.time())
        if len(seen) == 1:
            raise RuntimeError("handler failed")

    options = SubscriptionOptions(**{**_fields(FAST), "retry_delay": 0.4, "max_retry_delay": 0.4})
    await bus.subscribe("t", fails_once, group="g", options=options)
    await bus.publish(Event("t", {}))
    await eventually(lambda: len(seen) == 2)
    assert seen[1] - seen[0] >= 0.39  # nak(delay) / XCLAIM min-idle / a delayed queue


async def test_the_probe_is_up(bus: EventBus) -> None:
    probe = ping_probe(bus)
    assert "eventbus" == probe.name
    await probe.run()


def _fields(options: SubscriptionOptions) -> dict[str, object]:
    return {name: getattr(options, name) for name in options.__dataclass_fields__}

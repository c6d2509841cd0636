"""Delivery edge cases of the shared loop, on the in-memory bus (a real backend)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import ClassVar

import pytest

from mic.eventbus import (
    DEAD_LETTER_REASON,
    Delivery,
    Event,
    InMemoryEventBus,
    Subscription,
    SubscriptionOptions,
)
from mic.eventbus._memory import _MemoryConsumer
from tests.eventbus.conftest import FAST
from tests.eventbus.test_behaviour import Recorder
from tests.support import eventually


class FlakyFetchBus(InMemoryEventBus):
    """Its consumers fail their first fetch, as if the server were away."""

    def _consumer(self, topic, group, handler, options):  # type: ignore[no-untyped-def]
        consumer = super()._consumer(topic, group, handler, options)
        assert isinstance(consumer, _MemoryConsumer)
        return FlakyConsumer(self, topic, group, handler, options, queue=consumer.queue)


class FlakyConsumer(_MemoryConsumer):
    failed = False

    async def fetch(self) -> list[Delivery]:
        if not self.failed:
            self.failed = True
            raise ConnectionError("server away")
        return await super().fetch()


class NoDeadLetterOnce(InMemoryEventBus):
    """Refuses the first dead-letter publish."""

    refused = False

    async def publish(self, event: Event) -> None:
        if event.topic.endswith(".dead-letter") and not self.refused:
            self.refused = True
            raise ConnectionError("bus down")
        await super().publish(event)


async def test_a_failed_fetch_is_retried() -> None:
    async with FlakyFetchBus(options=FAST) as bus:
        received = Recorder()
        await bus.subscribe("t", received, group="g")
        await bus.publish(Event("t", {}))
        await eventually(lambda: len(received.events) == 1)


async def test_a_failed_dead_letter_publish_keeps_the_event() -> None:
    async with NoDeadLetterOnce(options=FAST) as bus:
        dead = Recorder()
        await bus.subscribe("t", Recorder(failures=100), group="g")
        await bus.subscribe("t.dead-letter", dead, group="ops")
        await bus.publish(Event("t", {}))
        await eventually(lambda: len(dead.events) == 1)
        assert "DeliveryLimitExceeded" == dead.events[0].headers[DEAD_LETTER_REASON]


async def test_an_event_delivered_too_often_without_answer_is_dead_lettered() -> None:
    options = dataclasses.replace(FAST, max_attempts=1, drain_timeout=0.01)
    async with InMemoryEventBus(options=options) as bus:
        started = asyncio.Event()

        async def hangs(event: Event) -> None:
            started.set()
            await asyncio.Event().wait()

        dead = Recorder()
        await bus.subscribe("t.dead-letter", dead, group="ops")
        stuck = await bus.subscribe("t", hangs, group="g")
        await bus.publish(Event("t", {}))
        await asyncio.wait_for(started.wait(), 5)
        await stuck.close()
        assert 1 == bus.pending("t", "g")
        await bus.subscribe("t", Recorder(), group="g")
        await eventually(lambda: len(dead.events) == 1)
        assert "DeliveryLimitExceeded" == dead.events[0].headers[DEAD_LETTER_REASON]
        assert 0 == bus.pending("t", "g") == bus.pending("unknown", "g")


async def test_closing_mid_batch_gives_the_rest_back_in_order() -> None:
    options = dataclasses.replace(FAST, drain_timeout=0.01)
    async with InMemoryEventBus(options=options) as bus:
        started = asyncio.Event()

        async def hangs(event: Event) -> None:
            started.set()
            await asyncio.Event().wait()

        stuck = await bus.subscribe("t", hangs, group="g")
        for n in range(3):
            await bus.publish(Event("t", {"n": n}))
        await asyncio.wait_for(started.wait(), 5)
        await stuck.close()
        received = Recorder()
        await bus.subscribe("t", received, group="g")
        await eventually(lambda: len(received.events) == 3)
        assert [0, 1, 2] == [e.payload["n"] for e in received.events]


async def test_without_dead_letters_an_event_is_retried_past_max_attempts() -> None:
    options = dataclasses.replace(FAST, dead_letter=False, max_attempts=1)
    async with InMemoryEventBus(options=options) as bus:
        received = Recorder(failures=3)
        await bus.subscribe("t", received, group="g")
        await bus.publish(Event("t", {}))
        await eventually(lambda: len(received.events) == 1)
        assert [4] == list(received.attempts.values())


async def test_closing_a_subscription_from_a_cancelled_task_propagates() -> None:
    async with InMemoryEventBus(options=FAST) as bus:
        release = asyncio.Event()

        async def slow(event: Event) -> None:
            await release.wait()

        subscription = await bus.subscribe("t", slow, group="g")
        await bus.publish(Event("t", {}))
        await eventually(lambda: bus.pending("t", "g") == 0)
        closing = asyncio.create_task(subscription.close())
        # close() is waiting for the handler in flight (its drain) once every consumer stops.
        await eventually(lambda: all(c._stopping for c in subscription._consumers))
        closing.cancel()
        with pytest.raises(asyncio.CancelledError, match=r"^$"):
            await closing
        assert "InMemoryEventBus(topics=['t'])" == repr(bus)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"batch_size": 0}, "batch_size"),
        ({"retry_delay": -1}, "retry_delay"),
        ({"retry_delay": 2, "max_retry_delay": 1}, "retry_delay"),
        ({"ack_timeout": 0}, "ack_timeout"),
        ({"poll_timeout": 0}, "poll_timeout"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SubscriptionOptions(**kwargs)  # type: ignore[arg-type]


def test_retry_delay_doubles_up_to_the_cap() -> None:
    options = SubscriptionOptions(retry_delay=1, max_retry_delay=5)
    assert [1, 2, 4, 5, 5] == [options.delay_after(n) for n in range(1, 6)]


async def test_a_handler_raising_cancelled_error_is_a_failure_not_a_stop() -> None:
    """A handler awaiting a cancelled task raises CancelledError; the loop must go on."""
    async with InMemoryEventBus(options=FAST) as bus:
        calls: list[int] = []

        async def awaits_a_cancelled_task(event: Event) -> None:
            calls.append(event.payload["n"])
            if len(calls) == 1:
                task = asyncio.create_task(asyncio.Event().wait())  # cancelled below
                await asyncio.sleep(0)
                task.cancel()
                await task

        await bus.subscribe("t", awaits_a_cancelled_task, group="g")
        await bus.publish(Event("t", {"n": 1}))
        await bus.publish(Event("t", {"n": 2}))
        await eventually(lambda: len(calls) == 3)
        assert [1, 2, 1] == calls  # retried after the others, like any failure


async def test_a_handler_can_close_its_own_subscription() -> None:
    options = dataclasses.replace(FAST, drain_timeout=30.0)
    async with InMemoryEventBus(options=options) as bus:
        box: dict[str, Subscription] = {}
        handled: list[int] = []

        async def handle_one_then_stop(event: Event) -> None:
            await box["subscription"].close()  # must not wait for itself (drain_timeout)
            handled.append(event.payload["n"])

        box["subscription"] = await bus.subscribe("t", handle_one_then_stop, group="g")
        await bus.publish(Event("t", {"n": 1}))
        await bus.publish(Event("t", {"n": 2}))
        await eventually(lambda: handled == [1] and bus.pending("t", "g") == 1, within=10)
        received = Recorder()
        await bus.subscribe("t", received, group="g")
        await eventually(lambda: len(received.events) == 1)
        assert [{"n": 2}] == [e.payload for e in received.events]  # given back, not lost


async def test_a_topic_too_long_for_its_dead_letter_topic_is_refused() -> None:
    topic = "x" * 190  # a valid topic whose "<topic>.dead-letter" is over 200 characters
    async with InMemoryEventBus(options=FAST) as bus:
        with pytest.raises(ValueError, match="too long for its dead-letter topic"):
            await bus.subscribe(topic, Recorder(), group="g")
        no_dead_letters = dataclasses.replace(FAST, dead_letter=False)
        await bus.subscribe(topic, Recorder(), group="g", options=no_dead_letters)


class BrokenDeadLetterConsumer(_MemoryConsumer):
    broken = True

    async def _dead_letter(self, delivery: Delivery, reason: str) -> None:
        if self.broken:
            self.broken = False
            raise ValueError("a bug in the delivery code")
        await super()._dead_letter(delivery, reason)


class BrokenDeadLetterBus(InMemoryEventBus):
    def _consumer(self, topic, group, handler, options):  # type: ignore[no-untyped-def]
        consumer = super()._consumer(topic, group, handler, options)
        assert isinstance(consumer, _MemoryConsumer)
        return BrokenDeadLetterConsumer(self, topic, group, handler, options, queue=consumer.queue)


async def test_an_error_in_the_delivery_code_does_not_end_the_loop() -> None:
    options = dataclasses.replace(FAST, max_attempts=1)
    async with BrokenDeadLetterBus(options=options) as bus:
        dead = Recorder()
        await bus.subscribe("t.dead-letter", dead, group="ops")
        await bus.subscribe("t", Recorder(failures=100), group="g")
        await bus.publish(Event("t", {"n": 1}))
        await eventually(lambda: len(dead.events) == 1)  # kept, retried, then dead-lettered
        await bus.publish(Event("t", {"n": 2}))
        await eventually(lambda: len(dead.events) == 2)


class FailingSetupBus(InMemoryEventBus):
    """The consumer of topic ``bad`` cannot be set up; the others record their teardown."""

    torn_down: ClassVar[list[str]] = []

    def _consumer(self, topic, group, handler, options):  # type: ignore[no-untyped-def]
        consumer = super()._consumer(topic, group, handler, options)
        assert isinstance(consumer, _MemoryConsumer)
        return SetupConsumer(self, topic, group, handler, options, queue=consumer.queue)


class SetupConsumer(_MemoryConsumer):
    async def setup(self) -> None:
        if self.topic == "bad":
            raise ConnectionError("server away")

    async def teardown(self) -> None:
        FailingSetupBus.torn_down.append(self.topic)


async def test_a_failed_subscribe_tears_down_the_topics_already_set_up() -> None:
    async with FailingSetupBus(options=FAST) as bus:
        with pytest.raises(ConnectionError, match="server away"):
            await bus.subscribe(["good", "bad"], Recorder(), group="g")
        assert ["good"] == FailingSetupBus.torn_down

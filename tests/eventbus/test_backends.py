"""What only the networked buses have: connections, server errors, foreign messages."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid

import pytest

from mic.eventbus import DEAD_LETTER_REASON, Event, NATSEventBus, RedisStreamsEventBus
from mic.model import TransientError
from tests.eventbus.conftest import FAST
from tests.eventbus.test_behaviour import Recorder
from tests.support import eventually


@pytest.mark.redis
async def test_redis_foreign_entries_go_to_the_dead_letter_topic(redis_url: str) -> None:
    prefix = f"test:events:{uuid.uuid4().hex}:"
    bus = RedisStreamsEventBus.from_url(redis_url, prefix=prefix, options=FAST)
    try:
        dead = Recorder()
        await bus.subscribe("t", Recorder(), group="g")
        await bus.subscribe("t.dead-letter", dead, group="ops")
        await bus.client.xadd(bus.key("t"), {"other": "x"})
        await bus.client.xadd(bus.key("t"), {"event": "{broken"})
        await eventually(lambda: len(dead.events) == 2)
        assert [{"raw": ""}, {"raw": "{broken"}] == [e.payload for e in dead.events]
        assert {"UndecodableEvent"} == {e.headers[DEAD_LETTER_REASON] for e in dead.events}
        assert f"RedisStreamsEventBus(prefix={prefix!r})" == repr(bus)
    finally:
        await _delete_prefix(bus, prefix)


@pytest.mark.redis
async def test_redis_retry_is_dropped_when_another_consumer_took_the_event(redis_url: str) -> None:
    prefix = f"test:events:{uuid.uuid4().hex}:"
    bus = RedisStreamsEventBus.from_url(redis_url, prefix=prefix, options=FAST)
    try:
        failing = Recorder(failures=1)
        slow_retry = dataclasses.replace(FAST, retry_delay=0.3, max_retry_delay=0.3)
        subscription = await bus.subscribe("t", failing, group="g", options=slow_retry)
        consumer = subscription._consumers[0]
        await bus.publish(Event("t", {}))
        await eventually(lambda: sum(failing.attempts.values()) == 1)
        await bus.client.xack(
            bus.key("t"),
            "g",
            *[
                entry["message_id"]
                for entry in await bus.client.xpending_range(
                    bus.key("t"), "g", min="-", max="+", count=10
                )
            ],
        )
        await eventually(lambda: not consumer._retries)  # type: ignore[attr-defined]
        assert [] == failing.events
    finally:
        await _delete_prefix(bus, prefix)


async def test_redis_unreachable_is_a_transient_error() -> None:
    bus = RedisStreamsEventBus.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(TransientError, match="not reachable"):
        await bus.publish(Event("t", {}))
    await bus.close()


def test_redis_settings_are_checked() -> None:
    import redis.asyncio as redis_asyncio

    with pytest.raises(ValueError, match="max_length"):
        RedisStreamsEventBus(redis_asyncio.Redis(), max_length=0)


@pytest.mark.nats
async def test_nats_foreign_messages_go_to_the_dead_letter_topic(nats_url: str) -> None:
    token = uuid.uuid4().hex
    bus = await NATSEventBus.connect(
        nats_url, stream=f"T_{token}", subject_prefix=f"t.{token}", options=FAST
    )
    try:
        dead = Recorder()
        await bus.subscribe("t", Recorder(), group="g")
        await bus.subscribe("t.dead-letter", dead, group="ops")
        await bus.jetstream.publish(bus.subject("t"), b"\xffnot json")
        await eventually(lambda: len(dead.events) == 1)
        assert "UndecodableEvent" == dead.events[0].headers[DEAD_LETTER_REASON]
        assert f"NATSEventBus(stream='T_{token}', subject_prefix='t.{token}')" == repr(bus)
    finally:
        await bus.jetstream.delete_stream(bus.stream)
        await bus.close()


@pytest.mark.nats
async def test_nats_republishing_an_event_is_deduplicated(nats_url: str) -> None:
    token = uuid.uuid4().hex
    bus = await NATSEventBus.connect(
        nats_url, stream=f"T_{token}", subject_prefix=f"t.{token}", options=FAST
    )
    try:
        received = Recorder()
        await bus.subscribe("t", received, group="g")
        event = Event("t", {})
        await bus.publish(event)
        await bus.publish(event)  # an outbox retry after a crash
        await bus.publish(Event("t", {"n": 2}))
        await eventually(lambda: len(received.events) == 2)
        assert [event.id] == [e.id for e in received.events if e.payload == {}]
        await bus.client.close()
        with pytest.raises(TransientError, match="not reachable"):
            await bus.publish(event)
    finally:
        with contextlib.suppress(Exception):
            await bus.close()
    async with await NATSEventBus.connect(nats_url) as cleanup:
        await cleanup.jetstream.delete_stream(f"T_{token}")


@pytest.mark.nats
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stream": "a.b"}, "stream"),
        ({"stream": ""}, "stream"),
        ({"subject_prefix": "a.>"}, "invalid topic"),
        ({"max_age": 0}, "max_age"),
        ({"duplicate_window": 0}, "duplicate_window"),
    ],
)
async def test_nats_settings_are_checked(
    nats_url: str, kwargs: dict[str, object], message: str
) -> None:
    import nats

    client = await nats.connect(nats_url)
    try:
        with pytest.raises(ValueError, match=message):
            NATSEventBus(client, **kwargs)  # type: ignore[arg-type]
    finally:
        await client.close()


@pytest.mark.redis
@pytest.mark.parametrize(("max_attempts", "dead_lettered"), [(3, False), (1, True)])
async def test_redis_a_crashed_consumers_events_are_taken_over(
    redis_url: str, max_attempts: int, dead_lettered: bool
) -> None:
    """XAUTOCLAIM: an event read by a consumer that died is handled by another one."""
    prefix = f"test:events:{uuid.uuid4().hex}:"
    options = dataclasses.replace(FAST, max_attempts=max_attempts)
    bus = RedisStreamsEventBus.from_url(redis_url, prefix=prefix, options=options)
    try:
        received, dead = Recorder(), Recorder()
        await bus.subscribe("t.dead-letter", dead, group="ops")
        idle = await bus.subscribe("t", received, group="g")
        await idle.close()  # the group exists; nobody reads it now
        event = Event("t", {"n": 1})
        await bus.publish(event)
        # A consumer reads the event and dies before acknowledging it.
        read = await bus.client.xreadgroup("g", "crashed", {bus.key("t"): ">"}, count=10)
        assert 1 == len(read[0][1])
        await bus.subscribe("t", received, group="g")
        await eventually(lambda: len(received.events) + len(dead.events) == 1)
        if dead_lettered:  # delivered twice, max_attempts 1: never run again
            assert "DeliveryLimitExceeded" == dead.events[0].headers[DEAD_LETTER_REASON]
            assert [] == received.events
        else:
            assert [event.id] == [e.id for e in received.events]

        async def nothing_pending() -> bool:  # acknowledged (or dead-lettered)
            return not (await bus.client.xpending(bus.key("t"), "g"))["pending"]

        await eventually(nothing_pending)
    finally:
        await _delete_prefix(bus, prefix)


@pytest.mark.redis
async def test_redis_a_vanished_stream_is_recreated_and_consumed(redis_url: str) -> None:
    """After a restart without persistence (the stream is gone) consumers keep receiving."""
    prefix = f"test:events:{uuid.uuid4().hex}:"
    bus = RedisStreamsEventBus.from_url(redis_url, prefix=prefix, options=FAST)
    try:
        received = Recorder()
        await bus.subscribe("t", received, group="g")
        await bus.publish(Event("t", {"n": 1}))
        await eventually(lambda: len(received.events) == 1)
        await bus.client.delete(bus.key("t"))
        await bus.publish(Event("t", {"n": 2}))  # XADD makes a new stream without groups
        await eventually(lambda: len(received.events) == 2)
        assert [1, 2] == [e.payload["n"] for e in received.events]
    finally:
        await _delete_prefix(bus, prefix)


@pytest.mark.nats
@pytest.mark.parametrize(("max_attempts", "dead_lettered"), [(3, False), (1, True)])
async def test_nats_a_crashed_consumers_event_is_redelivered_after_ack_wait(
    nats_url: str, max_attempts: int, dead_lettered: bool
) -> None:
    token = uuid.uuid4().hex
    options = dataclasses.replace(FAST, max_attempts=max_attempts)
    bus = await NATSEventBus.connect(
        nats_url, stream=f"T_{token}", subject_prefix=f"t.{token}", options=options
    )
    try:
        received, dead = Recorder(), Recorder()
        await bus.subscribe("t.dead-letter", dead, group="ops")
        idle = await bus.subscribe("t", received, group="g")
        await idle.close()  # the durable consumer exists; nobody pulls from it now
        event = Event("t", {"n": 1})
        await bus.publish(event)
        # A consumer pulls the event and dies before acknowledging it.
        crashed = await bus.jetstream.pull_subscribe(
            bus.subject("t"), durable=bus.durable_name("t", "g"), stream=bus.stream
        )
        assert 1 == len(await crashed.fetch(1, timeout=5))
        await crashed.unsubscribe()
        await bus.subscribe("t", received, group="g")
        await eventually(lambda: len(received.events) + len(dead.events) == 1)
        if dead_lettered:
            assert "DeliveryLimitExceeded" == dead.events[0].headers[DEAD_LETTER_REASON]
            assert [] == received.events
        else:
            assert [event.id] == [e.id for e in received.events]
    finally:
        await bus.jetstream.delete_stream(bus.stream)
        await bus.close()


@pytest.mark.nats
async def test_nats_an_oversized_event_is_a_value_error_not_an_outage(nats_url: str) -> None:
    token = uuid.uuid4().hex
    bus = await NATSEventBus.connect(nats_url, stream=f"T_{token}", subject_prefix=f"t.{token}")
    try:
        huge = Event("t", {"blob": "x" * (bus.client.max_payload + 1)})
        with pytest.raises(ValueError, match="max_payload"):
            await bus.publish(huge)
    finally:
        with contextlib.suppress(Exception):  # never created when nothing was published
            await bus.jetstream.delete_stream(bus.stream)
        await bus.close()


async def _delete_prefix(bus: RedisStreamsEventBus, prefix: str) -> None:
    """Close `bus` (stopping its consumers first, so none recreates a stream), then delete."""
    client = bus.client
    bus._owns_client = False  # closed below, after the cleanup
    await bus.close()
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.mark.nats
async def test_nats_subscribing_again_applies_the_new_ack_timeout(nats_url: str) -> None:
    token = uuid.uuid4().hex
    bus = await NATSEventBus.connect(
        nats_url, stream=f"T_{token}", subject_prefix=f"t.{token}", options=FAST
    )
    try:
        first = await bus.subscribe("t", Recorder(), group="g")
        await first.close()
        slower = dataclasses.replace(FAST, ack_timeout=7.0)
        await bus.subscribe("t", Recorder(), group="g", options=slower)
        info = await bus.jetstream.consumer_info(bus.stream, bus.durable_name("t", "g"))
        assert 7.0 == info.config.ack_wait
    finally:
        await bus.jetstream.delete_stream(bus.stream)
        await bus.close()

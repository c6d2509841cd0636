"""The transactional outbox on memory, SQLite and PostgreSQL, dispatched to a real bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from mic import context
from mic.datastorage import InMemoryDataStorage
from mic.eventbus import Event
from mic.healthcheck import ping_probe
from mic.outbox import (
    DispatcherOptions,
    InMemoryOutboxStore,
    NoUnitOfWorkError,
    OutboxBatch,
    OutboxDispatcher,
    OutboxPublishError,
    TopicRedactionPolicy,
    redact_hash,
)
from tests.support import eventually

from .conftest import Backend, RecordingBus
from .models import Order

FAST = DispatcherOptions(batch_size=10, poll_interval=0.01, retry_delay=0.01, max_retry_delay=0.05)


async def place(backend: Backend, order_id: int, *events: Event) -> None:
    """Write an order and its events in one unit of work."""
    async with backend.orders.unit_of_work():
        await backend.orders.add(Order(id=order_id, total=10.0))
        for event in events:
            await backend.store.add(event)


async def test_commit_publishes_exactly_the_committed_events(backend: Backend) -> None:
    bus = RecordingBus()
    sent = [Event("orders.placed", {"order": n}) for n in range(3)]
    await place(backend, 1, *sent)
    assert 3 == await backend.store.pending_count()
    assert 3 == await OutboxDispatcher(backend.store, bus, options=FAST).run_once()
    assert sent == bus.published
    assert 0 == await backend.store.pending_count()
    assert 0 == await OutboxDispatcher(backend.store, bus, options=FAST).run_once()


async def test_rollback_leaves_no_event(backend: Backend) -> None:
    bus = RecordingBus()

    async def place_then_fail() -> None:
        async with backend.orders.unit_of_work():
            await backend.orders.add(Order(id=1, total=10.0))
            await backend.store.add(Event("orders.placed", {"order": 1}))
            raise RuntimeError("payment refused")

    with pytest.raises(RuntimeError, match="payment refused"):
        await place_then_fail()
    assert await backend.orders.get(1) is None
    assert 0 == await backend.store.pending_count()
    assert 0 == await OutboxDispatcher(backend.store, bus, options=FAST).run_once()
    assert [] == bus.published


async def test_only_events_are_stored(backend: Backend) -> None:
    async with backend.orders.unit_of_work():
        with pytest.raises(TypeError, match="stores an Event, not dict"):
            await backend.store.add({"topic": "orders.placed"})  # type: ignore[arg-type]


async def test_an_event_outside_a_unit_of_work_is_refused(backend: Backend) -> None:
    with pytest.raises(NoUnitOfWorkError, match="unit_of_work"):
        await backend.store.add(Event("orders.placed", {}))


async def test_a_bus_failure_mid_batch_loses_nothing(backend: Backend) -> None:
    bus = RecordingBus(fail_on={3})
    sent = [Event("orders.placed", {"n": n}) for n in range(5)]
    await place(backend, 1, *sent)
    dispatcher = OutboxDispatcher(backend.store, bus, options=FAST)
    with pytest.raises(OutboxPublishError, match="ConnectionError"):
        await dispatcher.run_once()
    assert sent[:2] == bus.published
    assert 3 == await backend.store.pending_count()
    assert 3 == await dispatcher.run_once()
    assert sent == bus.published  # in order, each once


async def test_run_retries_with_backoff_until_the_bus_recovers(backend: Backend) -> None:
    bus = RecordingBus(fail_on={1, 2, 3})
    sent = [Event("orders.placed", {"n": n}) for n in range(4)]
    await place(backend, 1, *sent)
    dispatcher = OutboxDispatcher(backend.store, bus, options=FAST)
    task = asyncio.create_task(dispatcher.run())
    await eventually(lambda: len(bus.published) == 4)
    await dispatcher.stop()
    await asyncio.wait_for(task, 5)
    assert sent == bus.published


async def test_run_dispatches_new_events_until_stopped(backend: Backend) -> None:
    bus = RecordingBus()
    options = DispatcherOptions(batch_size=2, poll_interval=30.0)
    dispatcher = OutboxDispatcher(backend.store, bus, options=options, name="d1")
    task = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already running"):
        await dispatcher.run()
    await place(backend, 1, *[Event("orders.placed", {"n": n}) for n in range(5)])
    dispatcher.notify()  # no 30 s wait: the commit hook would call this
    await eventually(lambda: len(bus.published) == 5)
    await dispatcher.stop()
    await asyncio.wait_for(task, 5)
    assert "OutboxDispatcher('d1')" == repr(dispatcher)


async def test_payloads_are_redacted_before_they_are_stored(backend: Backend) -> None:
    backend.store.redaction = TopicRedactionPolicy(
        per_topic={"users.created": {"email": redact_hash}}
    )
    event = Event(
        "users.created",
        {"email": "a@b.c", "password": "hunter2", "name": "Ann"},
        headers={"authorization": "Bearer abc.def.ghi", "source": "web"},
    )
    stored: list[Event] = []
    async with backend.orders.unit_of_work():
        stored.append(await backend.store.add(event))
    bus = RecordingBus()
    await OutboxDispatcher(backend.store, bus, options=FAST).run_once()
    assert stored == bus.published
    published = bus.published[0]
    assert {"email": redact_hash("a@b.c"), "name": "Ann"} == published.payload
    assert {"source": "web"} == dict(published.headers)
    assert event.id == published.id


async def test_the_correlation_id_flows_from_the_request_to_the_subscriber(
    backend: Backend,
) -> None:
    bus = RecordingBus()
    seen: list[str | None] = []

    async def handler(event: Event) -> None:
        seen.append(context.correlation_id.get())

    await bus.subscribe("orders.placed", handler, group="mail")
    token = context.correlation_id.set("req-7")
    try:
        await place(backend, 1, Event("orders.placed", {"order": 1}))
    finally:
        context.correlation_id.reset(token)
    await OutboxDispatcher(backend.store, bus, options=FAST).run_once()
    await eventually(lambda: len(seen) == 1)
    assert ["req-7"] == seen
    await bus.close()


async def test_dispatched_events_can_be_purged(backend: Backend) -> None:
    await place(backend, 1, Event("a", {}), Event("b", {}))
    await OutboxDispatcher(backend.store, RecordingBus(), options=FAST).run_once()
    await place(backend, 2, Event("c", {}))
    assert 0 == await backend.store.purge_dispatched(older_than=3600)
    assert 2 == await backend.store.purge_dispatched(older_than=0)
    assert 1 == await backend.store.pending_count()


async def test_the_probe_is_up(backend: Backend) -> None:
    probe = ping_probe(backend.store)
    assert "outbox" == probe.name
    await probe.run()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"retry_delay": 2, "max_retry_delay": 1}, "retry_delay"),
    ],
)
def test_bad_dispatcher_options_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DispatcherOptions(**kwargs)  # type: ignore[arg-type]


async def test_a_rolled_back_nested_unit_of_work_drops_only_its_events(backend: Backend) -> None:

    async def nested_fails() -> None:
        async with backend.orders.unit_of_work():  # a savepoint
            await backend.orders.add(Order(id=2, total=5.0))
            await backend.store.add(Event("orders.placed", {"order": 2}))
            raise RuntimeError("refused")

    async with backend.orders.unit_of_work():
        await backend.orders.add(Order(id=1, total=10.0))
        await backend.store.add(Event("orders.placed", {"order": 1}))
        with pytest.raises(RuntimeError, match="refused"):
            await nested_fails()
    bus = RecordingBus()
    assert 1 == await OutboxDispatcher(backend.store, bus, options=FAST).run_once()
    assert [{"order": 1}] == [event.payload for event in bus.published]


async def test_stop_before_the_task_started_still_ends_run(backend: Backend) -> None:
    dispatcher = OutboxDispatcher(backend.store, RecordingBus(), options=FAST)
    task = asyncio.create_task(dispatcher.run())
    await dispatcher.stop()  # the task has not run a single step yet
    await asyncio.wait_for(task, 5)
    again = asyncio.create_task(dispatcher.run())  # and it can run again afterwards
    await eventually(lambda: dispatcher._running)
    await dispatcher.stop()
    await asyncio.wait_for(again, 5)


class CountingDispatcher(OutboxDispatcher):
    """A dispatcher that counts the rounds its `run` loop made."""

    rounds = 0

    async def run_once(self) -> int:
        published = await super().run_once()
        self.rounds += 1
        return published


async def test_a_dispatcher_started_inside_a_unit_of_work_marks_its_rows(
    backend: Backend,
) -> None:
    """Its task inherits the request's context; its marks must still be committed."""
    bus = RecordingBus()
    dispatcher = CountingDispatcher(backend.store, bus, options=FAST)
    async with backend.orders.unit_of_work():
        await backend.orders.add(Order(id=1, total=10.0))
        await backend.store.add(Event("orders.placed", {"order": 1}))
        task = asyncio.create_task(dispatcher.run())
    await eventually(lambda: len(bus.published) == 1)

    async def drained() -> bool:
        return not await backend.store.pending_count()

    await eventually(drained)
    rounds = dispatcher.rounds
    await eventually(lambda: dispatcher.rounds >= rounds + 3)  # none may publish it again
    await dispatcher.stop()
    await asyncio.wait_for(task, 5)
    assert 1 == len(bus.published)


class FailingReleaseStore(InMemoryOutboxStore):
    async def release(self, owner: str) -> None:
        raise ConnectionError("database away")


async def test_a_failed_release_at_shutdown_does_not_raise() -> None:
    dispatcher = OutboxDispatcher(FailingReleaseStore(), RecordingBus(), options=FAST)
    task = asyncio.create_task(dispatcher.run())
    await eventually(lambda: dispatcher._running)
    await dispatcher.stop()
    await asyncio.wait_for(task, 5)


class GatedStore(InMemoryOutboxStore):
    """Holds its first claim open (after reading the rows) until `gate` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.gate = asyncio.Event(), asyncio.Event()

    @asynccontextmanager
    async def claim(self, limit: int, *, owner: str) -> AsyncIterator[OutboxBatch]:
        async with super().claim(limit, owner=owner) as batch:
            if not self.entered.is_set():
                self.entered.set()
                await self.gate.wait()
            yield batch


async def test_a_notify_during_a_round_is_not_lost() -> None:
    store, bus = GatedStore(), RecordingBus()
    orders = InMemoryDataStorage(Order)
    options = DispatcherOptions(poll_interval=30.0)
    dispatcher = OutboxDispatcher(store, bus, options=options)
    task = asyncio.create_task(dispatcher.run())
    await asyncio.wait_for(store.entered.wait(), 5)  # the round has read: nothing pending
    async with orders.unit_of_work():
        await store.add(Event("orders.placed", {"order": 1}))
    dispatcher.notify()  # the commit hook, while the round still runs
    store.gate.set()
    await eventually(lambda: len(bus.published) == 1)  # not after poll_interval (30 s)
    await dispatcher.stop()
    await asyncio.wait_for(task, 5)

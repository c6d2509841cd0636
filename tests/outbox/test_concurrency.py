"""Several dispatchers: SKIP LOCKED on PostgreSQL, one lease holder on SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from mic.datastorage import create_sql_engine
from mic.eventbus import Event
from mic.outbox import DispatcherOptions, OutboxDispatcher, SqlOutboxStore
from tests.support import FakeClock, eventually

from .conftest import Backend, RecordingBus, postgres_backend, sql_backend
from .test_outbox import place


class SlowBus(RecordingBus):
    """Yields to other tasks on every publish, so dispatchers really interleave."""

    async def publish(self, event: Event) -> None:
        await asyncio.sleep(0)
        await super().publish(event)


@pytest.mark.postgres
async def test_two_dispatchers_publish_each_row_once_in_order(postgres: Backend) -> None:
    for batch in range(10):
        await place(
            postgres, batch, *[Event("orders.placed", {"n": batch * 20 + n}) for n in range(20)]
        )
    buses = [SlowBus(), SlowBus()]
    options = DispatcherOptions(batch_size=7, poll_interval=0.01)
    dispatchers = [OutboxDispatcher(postgres.store, bus, options=options) for bus in buses]
    tasks = [asyncio.create_task(d.run()) for d in dispatchers]

    async def drained() -> bool:
        return not await postgres.store.pending_count()

    await eventually(drained, within=20)
    for dispatcher in dispatchers:
        await dispatcher.stop()
    await asyncio.gather(*tasks)
    numbers = [[e.payload["n"] for e in bus.published] for bus in buses]
    assert list(range(200)) == sorted(numbers[0] + numbers[1])  # each row exactly once
    assert all(ns == sorted(ns) for ns in numbers)  # each dispatcher keeps the order
    assert all(numbers)  # both took part


async def test_on_sqlite_one_dispatcher_holds_the_lease(tmp_path: Path) -> None:
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'lease.db'}")
    try:
        backend = await sql_backend("sqlite", engine)
        await place(backend, 1, *[Event("t", {"n": n}) for n in range(4)])
        first_bus, second_bus = RecordingBus(), RecordingBus()
        options = DispatcherOptions(batch_size=2)
        first = OutboxDispatcher(backend.store, first_bus, options=options, name="first")
        second = OutboxDispatcher(backend.store, second_bus, options=options, name="second")
        assert 2 == await first.run_once()
        assert 0 == await second.run_once()  # the lease is first's
        await backend.store.release("first")
        assert 2 == await second.run_once()
        assert 0 == await first.run_once()  # now second's
        assert [0, 1] == [e.payload["n"] for e in first_bus.published]
        assert [2, 3] == [e.payload["n"] for e in second_bus.published]
    finally:
        await engine.dispose()


async def test_an_expired_lease_is_taken_over(tmp_path: Path) -> None:
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'lease.db'}")
    try:
        backend = await sql_backend("sqlite", engine)
        clock = FakeClock()
        store = SqlOutboxStore(
            engine, table_name=backend.store.table.name, lease_ttl=0.5, clock=clock
        )
        await place(backend, 1, Event("t", {"n": 1}), Event("t", {"n": 2}))
        options = DispatcherOptions(batch_size=1)
        assert 1 == await OutboxDispatcher(store, RecordingBus(), options=options).run_once()
        clock.advance(0.5)  # the last instant of the lease
        assert 0 == await OutboxDispatcher(store, RecordingBus(), options=options).run_once()
        clock.advance(0.01)  # past it
        assert 1 == await OutboxDispatcher(store, RecordingBus(), options=options).run_once()
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"table_name": ""}, "table_name"), ({"lease_ttl": 0}, "lease_ttl")]
)
async def test_bad_store_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    engine = create_sql_engine("sqlite://")
    try:
        with pytest.raises(ValueError, match=message):
            SqlOutboxStore(engine, **kwargs)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


class SlowerBus(RecordingBus):
    """Each publish takes 0.25 s on `clock`; one that would end past `deadline` never ends.

    That one stands for a publish still in flight when the claim runs out: only the
    dispatcher's own timeout (what is left of the claim, in real seconds) ends it.
    """

    def __init__(self, clock: FakeClock, deadline: float) -> None:
        super().__init__()
        self.clock, self.deadline = clock, deadline

    async def publish(self, event: Event) -> None:
        if self.clock() + 0.25 > self.deadline:
            await asyncio.Event().wait()  # cancelled by the dispatcher's timeout
        self.clock.advance(0.25)
        await super().publish(event)


async def test_on_sqlite_publishing_stops_before_the_lease_lapses(tmp_path: Path) -> None:
    """Past its lease another dispatcher may claim the rows: publishing them is a duplicate."""
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'lease.db'}")
    try:
        backend = await sql_backend("sqlite", engine)
        clock = FakeClock()
        store = SqlOutboxStore(
            engine, table_name=backend.store.table.name, lease_ttl=1.0, clock=clock
        )
        await place(backend, 1, *[Event("t", {"n": n}) for n in range(10)])
        # The claim ends at 0.8 of the lease, leaving the rest to record the marks.
        first_bus = SlowerBus(clock, deadline=clock() + 0.8)
        first = OutboxDispatcher(store, first_bus, options=DispatcherOptions(batch_size=10))
        published = await first.run_once()  # no OutboxPublishError: nothing failed
        # Three publishes end by 0.75 s; the fourth would end at 1.0 s, past the claim:
        # what is left of it (0.05 s) cuts that publish, which is no failure.
        assert 3 == published
        assert 7 == await store.pending_count()
        second_bus = RecordingBus()
        second = OutboxDispatcher(store, second_bus, options=DispatcherOptions(batch_size=10))
        assert 0 == await second.run_once()  # the lease still holds
        clock.advance(0.5)  # the lease lapses
        assert 7 == await second.run_once()
        numbers = [e.payload["n"] for e in first_bus.published + second_bus.published]
        assert list(range(10)) == numbers  # each once, in order
        async with engine.connect() as connection:
            attempts = await connection.execute(sa.select(store.table.c.attempts))
            assert {0} == set(attempts.scalars())  # running out of lease is no failure
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_connection_lost_mid_batch_publishes_the_batch_again(postgres_url: str) -> None:
    """The marks die with the claim's transaction: nothing is lost, the batch goes again."""
    application = f"mic_outbox_{uuid.uuid4().hex[:12]}"  # only our own connections are cut
    backends = postgres_backend(f"{postgres_url}?application_name={application}")
    async with contextlib.aclosing(backends):  # the schema is dropped even when this fails
        backend = await anext(backends)
        await place(backend, 1, *[Event("t", {"n": n}) for n in range(4)])

        class CuttingBus(RecordingBus):
            async def publish(self, event: Event) -> None:
                await super().publish(event)
                if self.calls == 2:  # mid-batch: the claim's connection dies
                    await _terminate(postgres_url, application)

        bus = CuttingBus()
        dispatcher = OutboxDispatcher(backend.store, bus, options=DispatcherOptions())
        with pytest.raises(sa.exc.OperationalError, match=r"terminat|closed|connection"):
            await dispatcher.run_once()
        assert 4 == await backend.store.pending_count()
        assert 4 == await dispatcher.run_once()
        numbers = [e.payload["n"] for e in bus.published]
        assert list(range(4)) == numbers[-4:]  # all of it again, in order
        assert 0 == await backend.store.pending_count()


async def _terminate(url: str, application: str) -> None:
    engine = create_sql_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND state = 'idle in transaction'"
                ),
                {"name": application},
            )
    finally:
        await engine.dispose()

"""Several dispatchers: SKIP LOCKED on PostgreSQL, one lease holder on SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mic.datastorage import create_sql_engine
from mic.eventbus import Event
from mic.outbox import DispatcherOptions, OutboxDispatcher, SqlOutboxStore

from .conftest import Backend, RecordingBus, sql_backend
from .test_outbox import place


class SlowBus(RecordingBus):
    """Yields to other tasks on every publish, so dispatchers really interleave."""

    async def publish(self, event: Event) -> None:
        await asyncio.sleep(0.001)
        await super().publish(event)


@pytest.mark.postgres
async def test_two_dispatchers_publish_each_row_once_in_order(postgres: Backend) -> None:
    for batch in range(10):
        await place(postgres, batch, *[Event("orders.placed", {"n": batch * 20 + n})
                                       for n in range(20)])  # fmt: skip
    buses = [SlowBus(), SlowBus()]
    options = DispatcherOptions(batch_size=7, poll_interval=0.01)
    dispatchers = [OutboxDispatcher(postgres.store, bus, options=options) for bus in buses]
    tasks = [asyncio.create_task(d.run()) for d in dispatchers]
    async with asyncio.timeout(20):
        while True:
            if not await postgres.store.pending_count():
                break
            await asyncio.sleep(0.01)
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
        store = SqlOutboxStore(engine, table_name=backend.store.table.name, lease_ttl=0.01)
        await place(backend, 1, Event("t", {"n": 1}), Event("t", {"n": 2}))
        options = DispatcherOptions(batch_size=1)
        assert 1 == await OutboxDispatcher(store, RecordingBus(), options=options).run_once()
        await asyncio.sleep(0.02)  # let the 10 ms lease expire (no polling target exists)
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

"""One inbox suite on memory, SQLite and PostgreSQL: each event's effect applied once."""

from __future__ import annotations

import asyncio
import math

import pytest
from pydantic import BaseModel

import mic.inbox
from mic.eventbus import Event, EventSpec, InMemoryEventBus, ReceivedEvent
from mic.inbox import InMemoryInbox, SqlInbox
from mic.model import ConflictError
from tests.eventbus.conftest import FAST
from tests.support import eventually

from .conftest import Backend
from .models import Applied


def test_exports() -> None:
    public = sorted(name for name in vars(mic.inbox) if not name.startswith("_"))
    assert [name for name in public if name != "annotations"] == sorted(mic.inbox.__all__)


async def _apply(backend: Backend, event: Event) -> None:
    await backend.effects.add(Applied(id=event.id, amount=event.payload["amount"]))


async def test_a_redelivered_event_is_acknowledged_without_running_the_handler(
    backend: Backend,
) -> None:
    event = Event("payments.received", {"amount": 5})
    calls: list[str] = []

    async def handler() -> None:
        calls.append(event.id)
        await _apply(backend, event)

    assert await backend.inbox.process(event, "ledger", handler)
    assert not await backend.inbox.process(event, "ledger", handler)
    assert [event.id] == calls
    assert 1 == backend.inbox.duplicates
    assert await backend.inbox.seen("ledger", event.id)
    assert 1 == await backend.effects.count()


async def test_groups_are_independent(backend: Backend) -> None:
    event = Event("payments.received", {"amount": 5})
    ran = [await backend.inbox.process(event, group, _noop) for group in ("a", "b", "a")]
    assert [True, True, False] == ran
    assert not await backend.inbox.seen("c", event.id)


async def _noop() -> None:
    return None


async def test_a_failing_handler_records_nothing_and_its_writes_roll_back(
    backend: Backend,
) -> None:
    event = Event("payments.received", {"amount": 5})

    async def fails() -> None:
        await _apply(backend, event)
        raise RuntimeError("downstream")

    with pytest.raises(RuntimeError, match="downstream"):
        await backend.inbox.process(event, "ledger", fails)
    assert not await backend.inbox.seen("ledger", event.id)
    assert 0 == await backend.effects.count()
    assert await backend.inbox.process(event, "ledger", lambda: _apply(backend, event))
    assert 1 == await backend.effects.count()


async def test_ids_expire_after_the_retention(backend: Backend) -> None:
    old, recent = Event("t", {"amount": 1}), Event("t", {"amount": 2})
    await backend.inbox.process(old, "g", _noop)
    backend.clock.now += 50
    await backend.inbox.process(recent, "g", _noop)
    backend.clock.now += 20  # old is 70 s old, recent 20 s: retention is 60 s
    assert 1 == await backend.inbox.purge()
    assert not await backend.inbox.seen("g", old.id)
    assert await backend.inbox.seen("g", recent.id)
    assert 1 == await backend.inbox.purge(older_than=10)
    assert 0 == await backend.inbox.purge()


async def test_forget_group_keeps_the_other_groups(backend: Backend) -> None:
    event = Event("t", {"amount": 1})
    for group in ("a", "b"):
        await backend.inbox.process(event, group, _noop)
    assert 1 == await backend.inbox.forget_group("a")
    assert not await backend.inbox.seen("a", event.id)
    assert await backend.inbox.seen("b", event.id)


async def test_concurrent_duplicates_apply_the_effect_once(backend: Backend) -> None:
    """Two consumers got the same event at once (a redelivery racing a slow handler)."""
    event = Event("payments.received", {"amount": 5})
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> None:
        started.set()
        await release.wait()
        await _apply(backend, event)

    async def fast() -> None:
        await _apply(backend, event)

    first = asyncio.create_task(backend.inbox.process(event, "ledger", slow))
    await started.wait()
    second = asyncio.create_task(backend.inbox.process(event, "ledger", fast))
    await asyncio.sleep(0)  # let the second reach its insert (it blocks on PostgreSQL)
    release.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    if backend.kind == "memory":
        # Optimistic: the fast one commits first; the slow one conflicts, and its retry
        # will find the id recorded.
        assert isinstance(results[0], ConflictError)
        assert results[1] is True
    else:  # the second waits on the first's row (PostgreSQL) or write lock (SQLite)
        assert [True, False] == results
    assert 1 == await backend.effects.count()


async def test_purge_runs_by_itself_at_the_interval() -> None:
    clock_now = [0.0]
    inbox = InMemoryInbox(retention=10, purge_interval=5, clock=lambda: clock_now[0])
    first = Event("t", {})
    await inbox.process(first, "g", _noop)
    clock_now[0] = 11.0  # past the retention and the interval: this call purges
    await inbox.process(Event("t", {}), "g", _noop)
    assert not await inbox.seen("g", first.id)
    assert "InMemoryInbox(records=1)" == repr(inbox)


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf])
def test_bad_durations_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match=r"retention must be > 0 \(a finite number of seconds"):
        InMemoryInbox(retention=value)
    with pytest.raises(
        ValueError, match=r"purge_interval must be > 0 \(a finite number of seconds"
    ):
        InMemoryInbox(purge_interval=value)


async def test_sql_inbox_needs_a_table_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mic.datastorage import SqlDataStorage, create_sql_engine

    storage = SqlDataStorage(Applied, create_sql_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    with pytest.raises(ValueError, match="table_name must not be empty"):
        SqlInbox(storage, table_name="")
    inbox = SqlInbox(storage)
    assert "SqlInbox('mic_inbox')" == repr(inbox)
    await inbox.create_schema()
    await inbox.drop_schema()
    with pytest.raises(Exception, match="no such table"):
        await inbox.seen("g", "e")
    await storage.engine.dispose()


class Payment(BaseModel):
    amount: int


PAYMENT = EventSpec("payments.received", Payment)


async def test_subscribe_with_an_inbox_runs_the_handler_once_per_event(backend: Backend) -> None:
    """One argument on subscribe; the same event published twice has one effect."""
    seen: list[int] = []

    async def typed(received: ReceivedEvent[Payment]) -> None:
        seen.append(received.payload.amount)
        await backend.effects.add(Applied(id=received.id, amount=received.payload.amount))

    plain_calls: list[str] = []

    async def plain(event: Event) -> None:
        plain_calls.append(event.id)

    async with InMemoryEventBus(options=FAST) as bus:
        await bus.subscribe(PAYMENT, typed, group="ledger", inbox=backend.inbox)
        await bus.subscribe("payments.received", plain, group="audit", inbox=backend.inbox)
        event = PAYMENT.event({"amount": 3})
        for _ in range(3):
            await bus.publish(event)
        await bus.publish(PAYMENT.event({"amount": 4}))
        await eventually(lambda: len(plain_calls) == 2 and len(seen) == 2)
        await eventually(lambda: backend.inbox.duplicates == 4)
    assert [3, 4] == seen
    assert 2 == await backend.effects.count()

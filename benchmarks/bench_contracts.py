"""Event contracts, the inbox and the outbox dispatcher, each beside its reference.

1. Publish + consume on the in-memory bus through `EventSpec` validation (on both sides)
   vs the untyped bus with the same payload; goal: cost <= 1.2x.
2. Consumption with the `SqlInbox` (id recorded in the handler's transaction) vs plain
   consumption writing the same row in its own unit of work, on PostgreSQL; goal: cost
   <= 1.5x.
3. `OutboxDispatcher` throughput, PostgreSQL rows to NATS JetStream acknowledged, vs a loop
   of raw nats-py JetStream publishes of the same rows; goal: >= 0.5x.

Run: ``.venv/bin/python -m benchmarks.bench_contracts`` (PostgreSQL and NATS on 127.0.0.1;
their parts are skipped with a message when absent). ``python -m benchmarks --callgrind
bench_contracts`` counts instructions of the first comparison only: the other two wait on
servers over the network, which wall clock measures.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy.schema import CreateSchema, DropSchema
from sqlmodel import Field, SQLModel

from benchmarks import _callgrind
from benchmarks._callgrind import Comparison, Goal
from mic.datastorage import SqlDataStorage, create_sql_engine
from mic.eventbus import Event, EventSpec, InMemoryEventBus, NATSEventBus, ReceivedEvent
from mic.inbox import SqlInbox
from mic.outbox import DispatcherOptions, OutboxDispatcher, SqlOutboxStore

POSTGRES_URL = os.environ.get("MIC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("MIC_TEST_NATS_URL", "nats://127.0.0.1:4222")
ROUNDS = 3
BUS_GOAL = 1 / 1.2


class OrderPlaced(BaseModel):
    order_id: int
    customer: str
    total: float
    items: list[str]


SPEC = EventSpec("bench.orders", OrderPlaced)


class BenchApplied(SQLModel, table=True):
    """One row per handled event."""

    __tablename__ = "mic_bench_contracts_applied"

    id: str = Field(primary_key=True)
    version: int = 0
    order_id: int


def _payload(n: int) -> dict[str, Any]:
    return {
        "order_id": n,
        "customer": f"customer-{n % 97}",
        "total": n * 1.5,
        "items": ["sku-1", "sku-2"],
    }


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _line(name: str, ours: float, reference: float, goal: str) -> None:
    print(f"{name}: ours {ours:,.0f} events/s, reference {reference:,.0f} events/s, {goal}")


async def _run_bus(events: int, typed: bool) -> float:
    done = asyncio.Event()
    count = 0

    async def handle(_: object) -> None:
        nonlocal count
        count += 1
        if count == events:
            done.set()

    async with InMemoryEventBus() as bus:
        await bus.subscribe(SPEC if typed else SPEC.topic, handle, group="bench")
        payloads = [_payload(n) for n in range(events)]
        started = time.perf_counter()
        for payload in payloads:
            await bus.publish(SPEC.event(payload) if typed else Event(SPEC.topic, payload))
        await done.wait()
        return events / (time.perf_counter() - started)


async def _bus_case() -> None:
    ours = reference = 0.0
    for _ in range(ROUNDS):
        ours = max(ours, await _run_bus(10_000, typed=True))
        reference = max(reference, await _run_bus(10_000, typed=False))
    cost = f"cost {reference / ours:.2f}x (goal <= 1.2x)"
    _line("EventSpec publish+consume vs untyped bus (in memory)", ours, reference, cost)


async def _delivery(typed: bool) -> Callable[[], Awaitable[None]]:
    """One publish on an open in-memory bus, awaited until its handler ran."""
    handled = asyncio.Event()

    async def handle(_: object) -> None:
        handled.set()

    bus = InMemoryEventBus()
    await bus.__aenter__()  # open for the whole deterministic run
    _callgrind.at_exit.append(bus.close)
    await bus.subscribe(SPEC if typed else SPEC.topic, handle, group="bench")
    payload = _payload(7)

    async def deliver() -> None:
        handled.clear()
        await bus.publish(SPEC.event(payload) if typed else Event(SPEC.topic, payload))
        await handled.wait()

    return deliver


async def callgrind_cases() -> list[Comparison]:
    """EventSpec publish+consume against the untyped bus, one delivery per operation."""
    return [
        Comparison(
            "EventSpec publish+consume vs untyped bus (in memory)",
            await _delivery(typed=True),
            await _delivery(typed=False),
            Goal(BUS_GOAL, "cost <= 1.2x (ratio >= 0.83x)"),
            ours_label="EventSpec",
            reference_label="untyped",
        )
    ]


async def _consume(engine: Any, events: int, inboxed: bool) -> float:
    effects = SqlDataStorage(BenchApplied, engine)
    inbox = SqlInbox(effects, table_name=f"bench_inbox_{uuid.uuid4().hex[:8]}")
    await inbox.create_schema()
    done = asyncio.Event()
    count = 0

    async def write(received: ReceivedEvent[OrderPlaced]) -> None:
        nonlocal count
        await effects.add(BenchApplied(id=uuid.uuid4().hex, order_id=received.payload.order_id))
        count += 1
        if count == events:
            done.set()

    async def plain(received: ReceivedEvent[OrderPlaced]) -> None:
        async with effects.unit_of_work():
            await write(received)

    try:
        async with InMemoryEventBus() as bus:
            if inboxed:
                await bus.subscribe(SPEC, write, group="bench", inbox=inbox)
            else:
                await bus.subscribe(SPEC, plain, group="bench")
            started = time.perf_counter()
            for n in range(events):
                await bus.publish(SPEC.event(_payload(n)))
            await done.wait()
            return events / (time.perf_counter() - started)
    finally:
        await inbox.drop_schema()


async def _in_schema(action: Callable[[Any], Awaitable[None]]) -> None:
    base = create_sql_engine(POSTGRES_URL)
    schema = f"mic_bench_{uuid.uuid4().hex[:12]}"
    async with base.begin() as connection:
        await connection.execute(CreateSchema(schema))
    try:
        await action(base.execution_options(schema_translate_map={None: schema}))
    finally:
        async with base.begin() as connection:
            await connection.execute(DropSchema(schema, cascade=True))
        await base.dispose()


async def _inbox_case(engine: Any) -> None:
    await SqlDataStorage(BenchApplied, engine).create_schema()
    ours = reference = 0.0
    for _ in range(ROUNDS):
        ours = max(ours, await _consume(engine, 300, inboxed=True))
        reference = max(reference, await _consume(engine, 300, inboxed=False))
    cost = f"cost {reference / ours:.2f}x (goal <= 1.5x)"
    _line("SqlInbox consumption vs plain consumption (PostgreSQL)", ours, reference, cost)


async def _outbox_case(engine: Any) -> None:
    import nats

    events = 2_000
    client = await nats.connect(NATS_URL)
    token = uuid.uuid4().hex[:12]
    bus = NATSEventBus(client, stream=f"BENCH_{token}", subject_prefix=f"bench.{token}")
    jetstream = client.jetstream()
    store = SqlOutboxStore(engine, table_name="bench_outbox")
    await store.create_schema()
    orders = SqlDataStorage(BenchApplied, engine)
    try:
        async with orders.unit_of_work():
            for n in range(events):
                await SPEC.add_to_outbox(store, _payload(n))
        rows = await _rows(store)
        await bus.ensure_stream()
        started = time.perf_counter()
        for event_id, data in rows:  # the reference: raw publishes, each acknowledged
            headers = {"Nats-Msg-Id": f"raw/{event_id}"}
            await jetstream.publish(bus.subject(SPEC.topic), data, headers=headers)
        reference = events / (time.perf_counter() - started)
        dispatcher = OutboxDispatcher(store, bus, options=DispatcherOptions(batch_size=100))
        started = time.perf_counter()
        while await dispatcher.run_once():
            pass
        ours = events / (time.perf_counter() - started)
        assert await store.pending_count() == 0
    finally:
        await jetstream.delete_stream(bus.stream)
        await client.close()
    ratio = f"ratio {ours / reference:.2f}x (goal >= 0.5x)"
    _line("OutboxDispatcher PostgreSQL -> NATS JetStream vs raw nats-py", ours, reference, ratio)


async def _rows(store: SqlOutboxStore) -> list[tuple[str, bytes]]:
    table = store.table
    from sqlalchemy import select

    async with store.engine.connect() as connection:
        result = await connection.execute(
            select(table.c.event_id, table.c.event).order_by(table.c.sequence)
        )
        return [(row.event_id, row.event.encode()) for row in result]


async def _main() -> None:
    await _bus_case()
    if not _reachable(5432):
        print("inbox and outbox cases: skipped, PostgreSQL is not reachable on 127.0.0.1:5432")
        return
    await _in_schema(_inbox_case)
    if not _reachable(4222):
        print("outbox dispatcher case: skipped, NATS is not reachable on 127.0.0.1:4222")
        return
    await _in_schema(_outbox_case)


def main() -> None:
    """Run the three comparisons and print events/s and the ratio of each."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()

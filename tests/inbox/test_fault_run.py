"""The outbox fault run: every effect applied exactly once, counted in PostgreSQL.

Orders and their events are written in one unit of work; a dispatcher process publishes
part of a batch to a private NATS JetStream and is killed with SIGKILL before it marks the
rows; NATS is stopped and started while a second dispatcher runs. The consumer, subscribed
with an `SqlInbox`, receives some events twice (the killed batch is published again after
the server's duplicate window) and must apply each one once.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mic.datastorage import SqlDataStorage
from mic.eventbus import EventSpec, NATSEventBus, ReceivedEvent, SubscriptionOptions
from mic.inbox import SqlInbox
from mic.outbox import DispatcherOptions, OutboxDispatcher, SqlOutboxStore
from tests.outbox.models import Order
from tests.private_servers import PrivateNats, running
from tests.support import eventually

from .models import Applied

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 200
KILLED_AFTER = 30  # events the first dispatcher publishes before it hangs and is killed
DUPLICATE_WINDOW = 1.0


class OrderPlaced(BaseModel):
    order_id: int


PLACED = EventSpec("orders.placed", OrderPlaced)


@pytest.fixture
def private_nats(nats_url: str, tmp_path: Path) -> Iterator[PrivateNats]:
    """A private server (the `nats_url` fixture gates it like every NATS test)."""
    del nats_url
    with running(PrivateNats, tmp_path / "jetstream") as server:
        yield server


async def _connect(url: str) -> NATSEventBus:
    import nats

    client = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    return NATSEventBus(
        client,
        stream="FAULT",
        subject_prefix="fault",
        duplicate_window=DUPLICATE_WINDOW,
        options=SubscriptionOptions(
            ack_timeout=2.0, poll_timeout=0.2, retry_delay=0.05, max_retry_delay=0.5
        ),
    )


def _kill_a_dispatcher_mid_batch(url: str, schema: str, table: str, nats_url: str) -> None:
    command = [
        sys.executable,
        "-m",
        "tests.inbox.fault_dispatcher",
        url,
        schema,
        table,
        nats_url,
        "FAULT",
        "fault",
        str(KILLED_AFTER),
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert "HUNG" == process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()
    assert -signal.SIGKILL == process.returncode


async def test_every_effect_is_applied_exactly_once(
    private_nats: PrivateNats, pg_engine: Any, postgres_url: str
) -> None:
    engine = pg_engine
    schema = engine.get_execution_options()["schema_translate_map"][None]
    orders, effects = SqlDataStorage(Order, engine), SqlDataStorage(Applied, engine)
    store = SqlOutboxStore(engine, table_name="outbox")
    inbox = SqlInbox(effects, table_name="inbox")
    for part in (orders, effects, store, inbox):
        await part.create_schema()

    consumer = await _connect(private_nats.url)

    async def apply(received: ReceivedEvent[OrderPlaced]) -> None:
        # A fresh id per run: a second run of the handler would be a second row.
        await effects.add(Applied(id=uuid.uuid4().hex, amount=received.payload.order_id))

    await consumer.subscribe(PLACED, apply, group="fulfilment", inbox=inbox)
    for order_id in range(EVENTS):
        async with orders.unit_of_work():
            await orders.add(Order(id=order_id, total=1.0))
            await PLACED.add_to_outbox(store, {"order_id": order_id})

    await asyncio.to_thread(
        _kill_a_dispatcher_mid_batch, postgres_url, schema, "outbox", private_nats.url
    )
    killed_at = time.monotonic()
    assert EVENTS == await store.pending_count()  # nothing was marked: all published again
    await eventually(lambda: _applied(effects, KILLED_AFTER), within=20)
    # The server drops a re-publish inside its duplicate window; wait it out so the
    # killed batch really reaches the consumer a second time.
    await asyncio.sleep(max(0.0, killed_at + DUPLICATE_WINDOW + 0.2 - time.monotonic()))

    producer = await _connect(private_nats.url)
    dispatcher = OutboxDispatcher(
        store,
        producer,
        options=DispatcherOptions(
            batch_size=20, poll_interval=0.05, retry_delay=0.05, max_retry_delay=0.5
        ),
    )
    task = asyncio.create_task(dispatcher.run())
    try:
        await eventually(lambda: _applied(effects, EVENTS // 2), within=30)
        await asyncio.to_thread(private_nats.stop)
        await asyncio.to_thread(private_nats.start)
        await eventually(lambda: _applied(effects, EVENTS), within=60)
        await eventually(_drained(store), within=30)
    finally:
        await dispatcher.stop()
        await task
        await producer.close()
        await producer.client.close()
        await consumer.close()
        await consumer.client.close()

    rows = await effects.list(limit=1000)
    assert sorted(range(EVENTS)) == sorted(row.amount for row in rows.items)
    assert EVENTS == await effects.count()
    assert inbox.duplicates >= KILLED_AFTER  # the killed batch did come back


async def _applied(effects: SqlDataStorage[Applied], at_least: int) -> bool:
    return await effects.count() >= at_least


def _drained(store: SqlOutboxStore):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return await store.pending_count() == 0

    return check

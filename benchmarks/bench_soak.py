"""The demo's main job as the store grows: creates/s and pages/s at 1k, 10k and 100k items.

Measured through the storage API (not HTTP, so the figures are the backends' alone), with
the demo's queries: ``add`` of a new item, and ``list(order_by=("name",), limit=50)``
following ``next_cursor`` through the data (wrapping to the first page at the end).
Side by side: `InMemoryDataStorage` of the demo's `Item` (ordered indexes), the same
storage answering by the full scan and sort it used before (the reference the indexes
replace), `SqlDataStorage` on
SQLite (a file) and on PostgreSQL when 127.0.0.1:5432 is reachable, both with an index on
``name`` as a deployment would have. The store is filled outside the measured region
(bulk insert for SQL); each measured phase lasts `SECONDS` (creates add a few hundred rows).

Run: ``.venv/bin/python -m benchmarks.bench_soak`` (about a minute; ``--quick`` stops at 10k).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from examples.service import Item
from sqlalchemy.schema import CreateSchema, DropSchema
from sqlmodel import Field, SQLModel

from mic.datastorage import DataStorage, InMemoryDataStorage, SqlDataStorage, create_sql_engine
from mic.datastorage._index import Unindexable

SIZES = (1_000, 10_000, 100_000)
SECONDS = 0.5
PAGE = 50
POSTGRES_URL = os.environ.get("MIC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class SoakItem(SQLModel, table=True):
    """The demo's `Item`, as a table with the index its listing needs (SQL needs a table
    model; loading one costs about twice a plain model, part of the SQL figures)."""

    __tablename__ = "mic_bench_soak_item"

    id: uuid.UUID = Field(primary_key=True)
    version: int = 0
    name: str = Field(index=True)
    quantity: int = 0


class ScanningStorage(InMemoryDataStorage[Any]):
    """The reference: every page a scan and sort of all items (the store before ADR 0065)."""

    def _indexed(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        raise Unindexable


def _item(n: int, model: type[Any] = SoakItem) -> Any:
    # Names spread over the keyspace so a page by name is not an append-order page.
    return model(id=uuid.uuid4(), name=f"item-{(n * 7_919) % 1_000_003:07d}", quantity=n)


Backend = Callable[[int], Any]  # size -> async context manager yielding a filled storage


@asynccontextmanager
async def _memory(size: int, kind: type[InMemoryDataStorage[Any]]) -> AsyncIterator[Any]:
    storage = kind(Item)  # the demo's own model: a plain pydantic model
    for n in range(size):
        await storage.add(_item(n, Item))
    yield storage


async def _bulk_fill(storage: SqlDataStorage[Any], size: int) -> None:
    rows = [{**_item(n).model_dump(), "version": 1} for n in range(size)]
    async with storage.engine.begin() as connection:
        for start in range(0, size, 5_000):
            await connection.execute(sa.insert(storage.table), rows[start : start + 5_000])


@asynccontextmanager
async def _sqlite(size: int) -> AsyncIterator[Any]:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_sql_engine(f"sqlite:///{Path(folder) / 'soak.db'}")
        try:
            storage = SqlDataStorage(SoakItem, engine)
            await storage.create_schema()
            await _bulk_fill(storage, size)
            yield storage
        finally:
            await engine.dispose()


@asynccontextmanager
async def _postgres(size: int) -> AsyncIterator[Any]:
    base = create_sql_engine(POSTGRES_URL)
    schema = f"mic_soak_{uuid.uuid4().hex[:12]}"
    async with base.begin() as connection:
        await connection.execute(CreateSchema(schema))
    try:
        storage = SqlDataStorage(
            SoakItem, base.execution_options(schema_translate_map={None: schema})
        )
        await storage.create_schema()
        await _bulk_fill(storage, size)
        async with base.begin() as connection:
            await connection.exec_driver_sql(f'ANALYZE "{schema}".mic_bench_soak_item')
        yield storage
    finally:
        async with base.begin() as connection:
            await connection.execute(DropSchema(schema, cascade=True))
        await base.dispose()


async def _rate(operation: Callable[[], Awaitable[Any]]) -> float:
    """Operations per second over `SECONDS`, after a short warm-up."""
    for _ in range(3):
        await operation()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < SECONDS:
        await operation()
        count += 1
    return count / elapsed


async def _measure(storage: DataStorage[Any]) -> tuple[float, float]:
    numbers = itertools.count(10_000_000)
    cursor: list[str | None] = [None]

    async def create() -> None:
        await storage.add(_item(next(numbers), storage.model))

    async def page() -> None:
        found = await storage.list(order_by=("name",), limit=PAGE, cursor=cursor[0])
        assert len(found.items) == PAGE or found.next_cursor is None
        cursor[0] = found.next_cursor

    listed = await _rate(page)
    return await _rate(create), listed


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1.0):
            return True
    except OSError:
        return False


async def _main(sizes: tuple[int, ...]) -> None:
    backends: dict[str, Backend] = {
        "memory (indexed)": lambda size: _memory(size, InMemoryDataStorage),
        "memory (scan, reference)": lambda size: _memory(size, ScanningStorage),
        "sqlite file": _sqlite,
    }
    if _postgres_reachable():
        backends["postgres"] = _postgres
    else:
        print("postgres: skipped, PostgreSQL is not reachable on 127.0.0.1:5432")
    print(f"{'items':>7}  {'backend':26} {'creates/s':>10} {'pages/s':>10}")
    for size in sizes:
        rates: dict[str, tuple[float, float]] = {}
        for name, backend in backends.items():
            async with backend(size) as storage:
                rates[name] = await _measure(storage)
            print(f"{size:>7,}  {name:26} {rates[name][0]:>10,.0f} {rates[name][1]:>10,.0f}")
        ours, scan = rates["memory (indexed)"][1], rates["memory (scan, reference)"][1]
        sqlite = rates["sqlite file"][1]
        print(
            f"{size:>7,}  pages/s: indexed memory {ours / scan:,.1f}x the scan, "
            f"{ours / sqlite:,.1f}x SQLite (goal: the page rate does not fall with the size)"
        )


def main() -> None:
    """Print creates/s and pages/s per size and backend."""
    sizes = SIZES[:2] if "--quick" in sys.argv else SIZES
    asyncio.run(_main(sizes))


if __name__ == "__main__":
    main()

"""Storage and cache speed against hand-written baselines, side by side in one run.

- `SqlDataStorage` get/add against the same statements written with SQLAlchemy Core, on
  SQLite (a file) and PostgreSQL (skipped with a note when 127.0.0.1:5432 is not reachable).
  Goal: >= 0.8x of the direct code.
- `InMemoryCache` get/set against a plain dict holding (value, expiry).

Run: ``.venv/bin/python -m benchmarks.bench_storage`` (about 20 s).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateSchema, DropSchema
from sqlmodel import Field, SQLModel

from benchmarks._callgrind import Comparison, Goal
from mic.cache import InMemoryCache
from mic.datastorage import InMemoryDataStorage, SqlDataStorage, create_sql_engine

SECONDS_PER_SIDE = 1.5
POSTGRES_URL = os.environ.get("MIC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class BenchItem(SQLModel, table=True):
    """The benchmarked aggregate."""

    __tablename__ = "mic_bench_item"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = 0
    name: str
    price: float


async def _compare(
    ours: Callable[[int], Awaitable[Any]],
    reference: Callable[[int], Awaitable[Any]],
    ids: itertools.count[int],
) -> tuple[float, float]:
    """Ops/s of both sides, alternating batches so drift (fsync, autovacuum) hits both."""
    for _ in range(50):  # warm-up: connections, statement caches
        await ours(next(ids))
        await reference(next(ids))
    spent = {0: 0.0, 1: 0.0}
    done = {0: 0, 1: 0}
    while spent[0] + spent[1] < 2 * SECONDS_PER_SIDE:
        for side, operation in enumerate((ours, reference)):
            started = time.perf_counter()
            for _ in range(50):
                await operation(next(ids))
            spent[side] += time.perf_counter() - started
            done[side] += 50
    return done[0] / spent[0], done[1] / spent[1]


def _report(name: str, rates: tuple[float, float], goal: float | None) -> None:
    ours, reference = rates
    goal_text = f"goal >= {goal}x" if goal is not None else "no goal, for information"
    print(
        f"{name}: ours {ours:,.0f} ops/s, reference {reference:,.0f} ops/s, "
        f"ratio {ours / reference:.2f}x ({goal_text})"
    )


async def _sql_cases(label: str, engine: AsyncEngine) -> None:
    storage = SqlDataStorage(BenchItem, engine)
    await storage.create_schema()
    table = storage.table
    select_one = sa.select(table).where(table.c.id == sa.bindparam("pk"))

    async def ours_add(n: int) -> None:
        await storage.add(BenchItem(id=n, name="item", price=1.5))

    async def core_add(n: int) -> None:
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(table), {"id": n, "version": 1, "name": "item", "price": 1.5}
            )

    async def ours_get(n: int) -> None:
        await storage.get(n % 500)

    async def core_get(n: int) -> None:
        async with engine.connect() as connection:
            row = (await connection.execute(select_one, {"pk": n % 500})).first()
            assert row is not None
            BenchItem.model_validate(dict(row._mapping))

    ids = itertools.count(1_000)
    for n in range(500):
        await ours_add(n)
    _report(f"{label} add", await _compare(ours_add, core_add, ids), 0.8)
    _report(f"{label} get", await _compare(ours_get, core_get, ids), 0.8)
    await storage.drop_schema()


async def _sqlite() -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_sql_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            await _sql_cases("SqlDataStorage sqlite", engine)
        finally:
            await engine.dispose()


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1.0):
            return True
    except OSError:
        return False


async def _postgres() -> None:
    if not _postgres_reachable():
        print("SqlDataStorage postgres: skipped, PostgreSQL is not reachable on 127.0.0.1:5432")
        return
    base = create_sql_engine(POSTGRES_URL)
    schema = f"mic_bench_{uuid.uuid4().hex[:12]}"
    async with base.begin() as connection:
        await connection.execute(CreateSchema(schema))
    try:
        engine = base.execution_options(schema_translate_map={None: schema})
        await _sql_cases("SqlDataStorage postgres", engine)
    finally:
        async with base.begin() as connection:
            await connection.execute(DropSchema(schema, cascade=True))
        await base.dispose()


class DictWithTtl:
    """The baseline: what one writes without a cache library."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[Any, float]] = {}

    async def get(self, key: str) -> Any:
        entry = self.entries.get(key)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    async def set(self, key: str, value: Any, ttl: float) -> None:
        self.entries[key] = (value, time.monotonic() + ttl)


async def _cache() -> None:
    ours, baseline = InMemoryCache(max_entries=100_000), DictWithTtl()
    keys = [f"key:{n}" for n in range(1_000)]

    async def ours_set(n: int) -> None:
        await ours.set(keys[n % 1_000], n, ttl=60)

    async def base_set(n: int) -> None:
        await baseline.set(keys[n % 1_000], n, 60)

    async def ours_get(n: int) -> None:
        await ours.get(keys[n % 1_000])

    async def base_get(n: int) -> None:
        await baseline.get(keys[n % 1_000])

    ids = itertools.count()
    _report("InMemoryCache set", await _compare(ours_set, base_set, ids), None)
    _report("InMemoryCache get", await _compare(ours_get, base_get, ids), None)


async def _main() -> None:
    await _sqlite()
    await _postgres()
    await _cache()


def main() -> None:
    """Run every case and print one line per case."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()


async def callgrind_cases() -> list[Comparison]:
    """In-process storage: indexed pages against the former scan, the cache against a dict,
    and `SqlDataStorage` against SQLAlchemy Core on SQLite (its driver runs a worker thread,
    so those two lines move by a few percent between runs)."""
    from examples.service import Item

    from benchmarks.bench_soak import ScanningStorage, _item

    cases = []
    indexed, scanning = InMemoryDataStorage(Item), ScanningStorage(Item)
    for n in range(10_000):
        await indexed.add(_item(n, Item))
        await scanning.add(_item(n, Item))

    async def ours_page() -> None:
        await indexed.list(order_by=("name",), limit=50)

    async def scan_page() -> None:
        await scanning.list(order_by=("name",), limit=50)

    cases.append(
        Comparison(
            "InMemoryDataStorage page of 50 at 10k items vs a scan and sort",
            ours_page,
            scan_page,
            ours_label="indexed",
            reference_label="scan",
        )
    )
    cache, baseline = InMemoryCache(max_entries=100_000), DictWithTtl()
    keys = itertools.cycle([f"key:{n}" for n in range(1_000)])

    async def cache_set() -> None:
        await cache.set(next(keys), 1, ttl=60)

    async def dict_set() -> None:
        await baseline.set(next(keys), 1, 60)

    async def cache_get() -> None:
        await cache.get(next(keys))

    async def dict_get() -> None:
        await baseline.get(next(keys))

    cases.append(Comparison("InMemoryCache set vs dict with expiry", cache_set, dict_set))
    cases.append(Comparison("InMemoryCache get vs dict with expiry", cache_get, dict_get))
    cases += await _sqlite_cases()
    return cases


async def _sqlite_cases() -> list[Comparison]:
    folder = tempfile.mkdtemp(prefix="mic-bench-")  # removed with the child process's tmp
    engine = create_sql_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
    storage = SqlDataStorage(BenchItem, engine)
    await storage.create_schema()
    table = storage.table
    select_one = sa.select(table).where(table.c.id == sa.bindparam("pk"))
    ids = itertools.count(1_000)
    for n in range(500):
        await storage.add(BenchItem(id=n, name="item", price=1.5))

    async def ours_add() -> None:
        await storage.add(BenchItem(id=next(ids), name="item", price=1.5))

    async def core_add() -> None:
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(table), {"id": next(ids), "version": 1, "name": "item", "price": 1.5}
            )

    async def ours_get() -> None:
        await storage.get(next(ids) % 500)

    async def core_get() -> None:
        async with engine.connect() as connection:
            row = (await connection.execute(select_one, {"pk": next(ids) % 500})).first()
            assert row is not None
            BenchItem.model_validate(dict(row._mapping))

    return [
        Comparison("SqlDataStorage sqlite add vs SQLAlchemy Core", ours_add, core_add, Goal(0.8)),
        Comparison("SqlDataStorage sqlite get vs SQLAlchemy Core", ours_get, core_get, Goal(0.8)),
    ]

"""The outbox on every backend: memory, SQLite and the real PostgreSQL (own schema per test)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.schema import CreateSchema, DropSchema

from mic.datastorage import DataStorage, InMemoryDataStorage, SqlDataStorage, create_sql_engine
from mic.eventbus import Event, InMemoryEventBus
from mic.outbox import InMemoryOutboxStore, OutboxStore, SqlOutboxStore

from .models import Order


@dataclass
class Backend:
    """Business storage and outbox store sharing one unit of work."""

    kind: str
    orders: DataStorage[Order]
    store: OutboxStore
    engine: Any = None


class RecordingBus(InMemoryEventBus):
    """A real in-memory bus that also records every publish and can fail on demand."""

    def __init__(self, fail_on: set[int] | None = None) -> None:
        super().__init__()
        self.published: list[Event] = []
        self.calls = 0
        self.fail_on = fail_on or set()

    async def publish(self, event: Event) -> None:
        self.calls += 1
        if self.calls in self.fail_on:
            raise ConnectionError("bus down")
        await super().publish(event)
        self.published.append(event)


async def sql_backend(kind: str, engine: Any) -> Backend:
    orders = SqlDataStorage(Order, engine)
    await orders.create_schema()
    store = SqlOutboxStore(engine, table_name=f"outbox_{uuid.uuid4().hex[:8]}")
    await store.create_schema()
    return Backend(kind, orders, store, engine)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each backend in turn."""
    if request.param == "memory":
        yield Backend("memory", InMemoryDataStorage(Order), InMemoryOutboxStore())
        return
    if request.param == "sqlite":
        engine = create_sql_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
        try:
            yield await sql_backend("sqlite", engine)
        finally:
            await engine.dispose()
        return
    async for built in postgres_backend(request.getfixturevalue("postgres_url")):
        yield built


async def postgres_backend(url: str) -> AsyncIterator[Backend]:
    """A backend in a fresh PostgreSQL schema, dropped afterwards."""
    base = create_sql_engine(url)
    schema = f"mic_t_{uuid.uuid4().hex[:12]}"
    async with base.begin() as connection:
        await connection.execute(CreateSchema(schema))
    try:
        yield await sql_backend(
            "postgres", base.execution_options(schema_translate_map={None: schema})
        )
    finally:
        async with base.begin() as connection:
            await connection.execute(DropSchema(schema, cascade=True))
        await base.dispose()


@pytest.fixture
async def postgres(postgres_url: str) -> AsyncIterator[Backend]:
    """The PostgreSQL backend only."""
    async for built in postgres_backend(postgres_url):
        yield built

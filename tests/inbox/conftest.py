"""The inbox on every backend: memory, SQLite and the real PostgreSQL (own schema per test)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.schema import CreateSchema, DropSchema

from mic.datastorage import DataStorage, InMemoryDataStorage, SqlDataStorage, create_sql_engine
from mic.inbox import Inbox, InMemoryInbox, SqlInbox

from .models import Applied


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    kind: str
    effects: DataStorage[Applied]
    inbox: Inbox
    clock: FakeClock


async def sql_backend(kind: str, engine: Any, clock: FakeClock) -> Backend:
    effects = SqlDataStorage(Applied, engine)
    await effects.create_schema()
    inbox = SqlInbox(
        effects,
        table_name=f"inbox_{uuid.uuid4().hex[:8]}",
        retention=60,
        purge_interval=None,
        clock=clock,
    )
    await inbox.create_schema()
    return Backend(kind, effects, inbox, clock)


async def postgres_engine(url: str) -> AsyncIterator[Any]:
    """An engine whose default schema is a fresh one, dropped afterwards."""
    base = create_sql_engine(url)
    schema = f"mic_t_{uuid.uuid4().hex[:12]}"
    async with base.begin() as connection:
        await connection.execute(CreateSchema(schema))
    try:
        yield base.execution_options(schema_translate_map={None: schema})
    finally:
        async with base.begin() as connection:
            await connection.execute(DropSchema(schema, cascade=True))
        await base.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each backend in turn."""
    clock = FakeClock()
    if request.param == "memory":
        inbox = InMemoryInbox(retention=60, purge_interval=None, clock=clock)
        yield Backend("memory", InMemoryDataStorage(Applied), inbox, clock)
        return
    if request.param == "sqlite":
        engine = create_sql_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
        try:
            yield await sql_backend("sqlite", engine, clock)
        finally:
            await engine.dispose()
        return
    async for engine in postgres_engine(request.getfixturevalue("postgres_url")):
        yield await sql_backend("postgres", engine, clock)


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[Any]:
    """An engine on the real PostgreSQL whose default schema is fresh (dropped afterwards)."""
    async for engine in postgres_engine(postgres_url):
        yield engine

"""One fixture, `backend`, that builds storages on every backend in turn.

PostgreSQL runs in a schema unique to the test (dropped at teardown), so parallel runs and
reruns never see each other's tables.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.schema import CreateSchema, DropSchema

from mic.datastorage import DataStorage, InMemoryDataStorage, SqlDataStorage, create_sql_engine

from .models import Item, Tag

StorageFactory = Callable[[type[Any]], DataStorage[Any]]


@pytest.fixture(
    params=[
        "memory",
        "sqlite-memory",
        "sqlite-file",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorageFactory]:
    """A factory of storages sharing one backend (one engine for SQL)."""
    kind = request.param
    if kind == "memory":
        memory = {model: InMemoryDataStorage(model) for model in (Item, Tag)}
        yield lambda model: memory[model]
        return
    schema = None
    if kind == "sqlite-memory":
        engine = create_sql_engine("sqlite://")
    elif kind == "sqlite-file":
        engine = create_sql_engine(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        base_url = request.getfixturevalue("postgres_url")
        base = create_sql_engine(base_url)
        schema = f"mic_t_{uuid.uuid4().hex[:12]}"
        async with base.begin() as connection:
            await connection.execute(CreateSchema(schema))
        engine = base.execution_options(schema_translate_map={None: schema})
    storages: list[SqlDataStorage[Any]] = []
    for model in (Item, Tag):
        storage = SqlDataStorage(model, engine)
        await storage.create_schema()
        storages.append(storage)
    by_model = {s.model: s for s in storages}
    try:
        yield lambda model: by_model[model]
    finally:
        if schema is not None:
            async with base.begin() as connection:
                await connection.execute(DropSchema(schema, cascade=True))
            await base.dispose()
        else:
            await engine.dispose()


@pytest.fixture
def items(backend: StorageFactory) -> DataStorage[Item]:
    """The `Item` storage of the current backend."""
    return backend(Item)


@pytest.fixture
def tags(backend: StorageFactory) -> DataStorage[Tag]:
    """The `Tag` storage of the current backend."""
    return backend(Tag)

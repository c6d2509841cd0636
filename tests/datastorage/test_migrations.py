"""The Alembic migration path of docs/storage.md, run as documented on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from mic.datastorage import SqlDataStorage, create_sql_engine
from mic.idempotency import SqlIdempotencyStore

from .models import Item

ENV_PY_METADATA = """
from sqlmodel import SQLModel

from mic.datastorage import create_sql_engine
from mic.idempotency import SqlIdempotencyStore
import tests.datastorage.models  # noqa: F401  (the service's table models)

idempotency = SqlIdempotencyStore(create_sql_engine(config.get_main_option("sqlalchemy.url")))
target_metadata = [SQLModel.metadata, idempotency.metadata]
"""


def configure(directory: Path, url: str) -> Config:
    """`alembic init -t async migrations`, then the two edits docs/storage.md asks for."""
    config = Config(str(directory / "alembic.ini"))
    command.init(config, str(directory / "migrations"), template="async")
    config = Config(str(directory / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    env = directory / "migrations" / "env.py"
    text = env.read_text().replace("target_metadata = None", ENV_PY_METADATA)
    # In process, the default would disable every logger created so far (docs/storage.md).
    text = text.replace(
        "fileConfig(config.config_file_name)",
        "fileConfig(config.config_file_name, disable_existing_loggers=False)",
    )
    env.write_text(text)
    mako = directory / "migrations" / "script.py.mako"
    mako.write_text(
        mako.read_text().replace(
            "import sqlalchemy as sa\n", "import sqlalchemy as sa\nimport sqlmodel\n"
        )
    )
    return config


async def migrate_and_use(directory: Path, url: str) -> None:
    config = configure(directory, url)
    # env.py runs its own event loop (asyncio.run): give it a thread without one.
    await asyncio.to_thread(command.revision, config, message="initial", autogenerate=True)
    await asyncio.to_thread(command.upgrade, config, "head")
    engine = create_sql_engine(url)
    try:
        items = SqlDataStorage(Item, engine)
        stored = await items.add(Item(id=1, name="migrated", price=1.0))
        assert (await items.update(stored)).version == 2
        assert await SqlIdempotencyStore(engine).begin("k", "fp", "o", lease=5) is None
    finally:
        await engine.dispose()
    await asyncio.to_thread(command.downgrade, config, "base")


async def test_alembic_path_on_sqlite(tmp_path: Path) -> None:
    await migrate_and_use(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """A throwaway PostgreSQL database (Alembic migrates a whole database)."""
    name = f"mic_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        postgres_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        base = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
async def test_alembic_path_on_postgres(tmp_path: Path, postgres_database: str) -> None:
    await migrate_and_use(tmp_path, postgres_database)


async def test_in_process_migrations_keep_existing_loggers_enabled(tmp_path: Path) -> None:
    """Alembic's env.py would otherwise disable every logger created before it ran."""
    import logging

    logger = logging.getLogger("mic.tests.migrations")
    await migrate_and_use(tmp_path, "sqlite+aiosqlite:///" + str(tmp_path / "db.sqlite"))
    assert not logger.disabled

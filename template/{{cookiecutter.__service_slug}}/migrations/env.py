"""Alembic environment: migrate the database of the service's settings (``MIC_STORAGE__URL``)."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from {{ cookiecutter.__package_name }}.items.tables import metadata
from {{ cookiecutter.__package_name }}.settings import Settings

# Tests run migrations in process: they keep their own logging configuration.
if context.config.config_file_name is not None and "storage_url" not in context.config.attributes:
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run() -> None:
    # Tests pass their database in the Alembic config; a deployment uses the settings.
    url = context.config.attributes.get("storage_url")
    settings = Settings.load() if url is None else Settings.load(storage={"url": url})
    storage = settings.storage
    if storage.in_memory:
        raise SystemExit("MIC_STORAGE__URL is memory://: there is no database to migrate")
    engine = storage.create_engine()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not set up: run them against a database")
asyncio.run(_run())

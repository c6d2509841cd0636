"""Shared fixtures: each repository backend in turn, and an in-process client over it.

Every repository and route test runs twice: on the in-memory repository and on the SQL one
(a SQLite file migrated like production), so both backends keep the same behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from mic.testing import app_client

from {{ cookiecutter.__package_name }}.app import create_app
from {{ cookiecutter.__package_name }}.items.repository import InMemoryItemRepository, ItemRepository
from {{ cookiecutter.__package_name }}.items.sql_repository import SqlItemRepository
from {{ cookiecutter.__package_name }}.settings import Settings
from tests.support import migrate, settings_for

# mic-kit's fixtures: mic_client, mic_settings, recording_bus, frozen_clock.
pytest_plugins = ["mic.testing.plugin"]


@pytest.fixture
def database(tmp_path: Path) -> str:
    """The URL of a fresh SQLite database with the migrations applied."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    migrate(url)
    return url


@pytest.fixture(params=["memory", "sql"])
async def repository(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ItemRepository]:
    """An empty item repository: in memory, then SQL on a migrated SQLite file."""
    if request.param == "memory":
        yield InMemoryItemRepository()
        return
    url = f"sqlite+aiosqlite:///{tmp_path / 'items.db'}"
    migrate(url)
    sql = SqlItemRepository(settings_for(url).storage.create_engine())
    yield sql
    await sql.aclose()


@pytest.fixture
def settings() -> Settings:
    """The service's settings with items in memory, whatever the environment says."""
    return settings_for("memory://")


@pytest.fixture
async def client(
    repository: ItemRepository, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the whole app over `repository`, its lifespan run (no network)."""
    async with app_client(create_app(settings, repository=repository)) as client:
        yield client

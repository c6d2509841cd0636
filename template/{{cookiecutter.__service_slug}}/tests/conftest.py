"""Shared fixtures: a fresh repository and an in-process HTTP client for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from {{ cookiecutter.__package_name }}.app import create_app
from {{ cookiecutter.__package_name }}.items.repository import InMemoryItemRepository
from tests.support import client_for


@pytest.fixture
def repository() -> InMemoryItemRepository:
    """An empty in-memory item repository."""
    return InMemoryItemRepository()


@pytest.fixture
async def client(repository: InMemoryItemRepository) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the whole app, served in process (no network), over `repository`."""
    async with client_for(create_app(repository=repository)) as client:
        yield client

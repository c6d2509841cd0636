"""The service's wiring: which repository the settings choose, and its lifecycle."""

from __future__ import annotations

import pytest
from mic.service import Service

from {{ cookiecutter.__package_name }}.items.repository import InMemoryItemRepository, ItemRepository
from {{ cookiecutter.__package_name }}.items.sql_repository import SqlItemRepository
from {{ cookiecutter.__package_name }}.service import build_repository, build_service
from {{ cookiecutter.__package_name }}.settings import DEFAULT_DATABASE, Settings
from tests.support import settings_for


def test_items_live_in_sqlite_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIC_STORAGE__URL", raising=False)
    settings = Settings.load(env_file=None)
    assert settings.storage.url.get_secret_value() == DEFAULT_DATABASE
    assert isinstance(build_repository(settings), SqlItemRepository)


def test_memory_storage_gives_the_in_memory_repository() -> None:
    assert isinstance(build_repository(settings_for("memory://")), InMemoryItemRepository)


async def test_the_repository_opens_and_closes_with_the_service(database: str) -> None:
    service = build_service(settings_for(database))
    async with service:
        report = await service.readiness.check()
    assert report.status == "ready"
    assert [probe.name for probe in service.readiness.probes] == ["items"]


async def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    monkeypatch.setenv("MIC_STORAGE__URL", database)
    service = build_service()
    assert isinstance(service, Service)
    assert service.settings.storage.url.get_secret_value() == database


async def test_a_given_repository_is_used(settings: Settings) -> None:
    repository: ItemRepository = InMemoryItemRepository()
    service = build_service(settings, repository=repository)
    async with service:
        assert service.readiness.probes[0].name == "items"

"""The service: its resources, their lifecycle and its routes, independent of the framework.

`build_service` wires the item repository chosen by the settings (SQL by default, memory
with ``MIC_STORAGE__URL=memory://``) into a `mic.service.Service`, which opens and closes
it with the app, probes it on ``/ready``, serves ``/health`` and ``/metrics``, and drains
requests in flight on shutdown.
"""

from __future__ import annotations

from mic.service import Service

from {{ cookiecutter.__package_name }}.items.repository import InMemoryItemRepository, ItemRepository
from {{ cookiecutter.__package_name }}.items.routes import build_item_routes
from {{ cookiecutter.__package_name }}.items.sql_repository import SqlItemRepository
from {{ cookiecutter.__package_name }}.settings import Settings

SERVICE_DESCRIPTION = "{{ cookiecutter.service_description }}"


def build_repository(settings: Settings) -> ItemRepository:
    """The repository `settings` ask for (creating a SQL engine does no I/O)."""
    if settings.storage.in_memory:
        return InMemoryItemRepository()
    return SqlItemRepository(settings.storage.create_engine())


def build_service(
    settings: Settings | None = None, *, repository: ItemRepository | None = None
) -> Service:
    """The service: the item routes over `repository` (default: from `settings`).

    Raises:
        SettingsError: `settings` is not given and the environment holds bad settings.
    """
    settings = settings if settings is not None else Settings.load()
    repository = repository if repository is not None else build_repository(settings)
    service = Service(settings, metrics=True)
    service.add_resource("items", lambda: repository)
    service.add_routes(*build_item_routes(repository))
    return service

{%- set fastapi = cookiecutter.http_framework == "fastapi" -%}
"""The application: every route of the service, served by {{ "FastAPI" if fastapi else "Litestar" }}.

`create_app` is the factory uvicorn calls (``make run``); tests call it with their own
repository or readiness probes. This is the only module that knows the web framework:
handlers and routes are framework-agnostic `mic.http` specs.
"""

from __future__ import annotations

from collections.abc import Sequence

{% if fastapi -%}
from fastapi import FastAPI
from mic.fastapi import build_fastapi_app
from mic.healthcheck import Probe
from mic.http import HttpRouterConfig
{%- else -%}
from litestar import Litestar
from mic.healthcheck import Probe
from mic.http import HttpRouterConfig
from mic.litestar import build_litestar_app
{%- endif %}
from prometheus_client import CollectorRegistry

from {{ cookiecutter.__package_name }} import __version__
from {{ cookiecutter.__package_name }}.items.repository import InMemoryItemRepository, ItemRepository
from {{ cookiecutter.__package_name }}.items.routes import build_item_routes
from {{ cookiecutter.__package_name }}.ops.routes import build_interceptors, build_ops_routes

SERVICE_NAME = "{{ cookiecutter.__service_slug }}"
SERVICE_DESCRIPTION = "{{ cookiecutter.service_description }}"


def create_app(
    *,
    repository: ItemRepository | None = None,
    probes: Sequence[Probe] | None = None,
    registry: CollectorRegistry | None = None,
) -> {{ "FastAPI" if fastapi else "Litestar" }}:
    """The service's app; OpenAPI document at ``/openapi.json``, API docs at ``/docs``.

    Args:
        repository: Item storage (default: a new in-memory repository).
        probes: Readiness probes (default: one that pings `repository`).
        registry: Where request metrics go and what /metrics serves (default: a new
            registry of this app's own, so two apps never mix their series).

    Raises:
        ValueError: Two probes share a name.
    """
    repository = repository if repository is not None else InMemoryItemRepository()
    if probes is None:
        probes = (Probe("items", repository.ping),)
    registry = registry if registry is not None else CollectorRegistry()
    routes = (
        *build_ops_routes(probes=probes, registry=registry),
        *build_item_routes(repository),
    )
    config = HttpRouterConfig(interceptors=build_interceptors(registry))
{%- if fastapi %}
    return build_fastapi_app(
        routes=routes,
        config=config,
        title=SERVICE_NAME,
        version=__version__,
        description=SERVICE_DESCRIPTION,
    )
{%- else %}
    return build_litestar_app(
        routes=routes,
        config=config,
        title=SERVICE_NAME,
        version=__version__,
        description=SERVICE_DESCRIPTION,
    )
{%- endif %}

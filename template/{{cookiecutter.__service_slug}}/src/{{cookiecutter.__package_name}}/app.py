{%- set fastapi = cookiecutter.http_framework == "fastapi" -%}
"""The application: the service, served by {{ "FastAPI" if fastapi else "Litestar" }}.

`create_app` is what the server runs (``make run``); tests call it with their own settings
or repository. This is the only module that knows the web framework: handlers and routes
are framework-agnostic `mic.http` specs, and the lifecycle is `mic.service.Service`.
"""

from __future__ import annotations

from typing import cast

{% if fastapi -%}
from fastapi import FastAPI
{%- else -%}
from litestar import Litestar
{%- endif %}

from {{ cookiecutter.__package_name }}.items.repository import ItemRepository
from {{ cookiecutter.__package_name }}.service import SERVICE_DESCRIPTION, build_service
from {{ cookiecutter.__package_name }}.settings import Settings

FRAMEWORK = "{{ cookiecutter.http_framework }}"


def create_app(
    settings: Settings | None = None, *, repository: ItemRepository | None = None
) -> {{ "FastAPI" if fastapi else "Litestar" }}:
    """The service's app, its lifespan opening and closing the service.

    The OpenAPI document is at ``/openapi.json``, the API docs at ``/docs``.

    Raises:
        SettingsError: `settings` is not given and the environment holds bad settings.
    """
    service = build_service(settings, repository=repository)
    app = service.build_app(FRAMEWORK, description=SERVICE_DESCRIPTION)
    return cast({{ '"FastAPI"' if fastapi else '"Litestar"' }}, app)

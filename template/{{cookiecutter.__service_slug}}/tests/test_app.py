{%- set fastapi = cookiecutter.http_framework == "fastapi" -%}
"""The app factory: framework, wiring of the defaults, and the API documentation."""

from __future__ import annotations

{% if fastapi -%}
from fastapi import FastAPI
{%- else -%}
from litestar import Litestar
{%- endif %}
from mic.healthcheck import Probe
from prometheus_client import CollectorRegistry

from {{ cookiecutter.__package_name }}.app import SERVICE_DESCRIPTION, SERVICE_NAME, create_app
from tests.support import client_for

OPENAPI_PATH = "/openapi.json"


def test_the_app_runs_on_{{ cookiecutter.http_framework }}() -> None:
    assert isinstance(create_app(), {{ "FastAPI" if fastapi else "Litestar" }})


async def test_the_default_app_serves_items_and_is_ready() -> None:
    async with client_for(create_app()) as client:
        created = await client.post("/items", json={"name": "bolt"})
        ready = await client.get("/ready")
    assert created.status_code == 201
    assert ready.json()["probes"]["items"]["status"] == "up"


async def test_given_probes_replace_the_default_one() -> None:
    async def broken() -> None:
        raise ConnectionError

    app = create_app(probes=[Probe("database", broken)])
    async with client_for(app) as client:
        ready = await client.get("/ready")
    assert ready.status_code == 503
    assert set(ready.json()["probes"]) == {"database"}


async def test_a_given_registry_collects_the_requests() -> None:
    registry = CollectorRegistry()
    async with client_for(create_app(registry=registry)) as client:
        await client.get("/health")
    labels = {"method": "GET", "route": "/health", "status_class": "2xx"}
    assert registry.get_sample_value("http_server_requests_total", labels) == 1.0


async def test_the_openapi_document_describes_the_service() -> None:
    async with client_for(create_app()) as client:
        document = (await client.get(OPENAPI_PATH)).json()
    assert document["info"]["title"] == SERVICE_NAME
    assert document["info"].get("description", "") == SERVICE_DESCRIPTION
    # /health, /ready and /metrics are for machines: mic-kit leaves them out of the docs.
    assert set(document["paths"]) == {"/items", "/items/{item_id}"}
    assert set(document["paths"]["/items/{item_id}"]) == {"get", "put", "delete"}

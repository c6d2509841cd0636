{%- set fastapi = cookiecutter.http_framework == "fastapi" -%}
"""The app: framework, lifecycle, operations routes and the API documentation."""

from __future__ import annotations

{% if fastapi -%}
from fastapi import FastAPI
{%- else -%}
from litestar import Litestar
{%- endif %}
from mic.testing import app_client

from {{ cookiecutter.__package_name }}.app import create_app
from {{ cookiecutter.__package_name }}.service import SERVICE_DESCRIPTION
from {{ cookiecutter.__package_name }}.settings import Settings

OPENAPI_PATH = "/openapi.json"


def test_the_app_runs_on_{{ cookiecutter.http_framework }}(settings: Settings) -> None:
    assert isinstance(create_app(settings), {{ "FastAPI" if fastapi else "Litestar" }})


async def test_health_ready_and_metrics(settings: Settings) -> None:
    async with app_client(create_app(settings)) as client:
        created = await client.post("/items", json={"name": "bolt"})
        health = await client.get("/health")
        ready = await client.get("/ready")
        metrics = await client.get("/metrics")
    assert created.status_code == 201
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert ready.json()["probes"]["items"]["status"] == "up"
    series = 'http_server_requests_total{method="POST",route="/items",status_class="2xx"} 1.0'
    assert series in metrics.text
    assert created.headers["x-request-id"]


async def test_the_openapi_document_describes_the_service(settings: Settings) -> None:
    async with app_client(create_app(settings)) as client:
        document = (await client.get(OPENAPI_PATH)).json()
    assert document["info"]["title"] == "{{ cookiecutter.__service_slug }}"
    assert document["info"].get("description", "") == SERVICE_DESCRIPTION
    # /health, /ready and /metrics are for machines: mic-kit leaves them out of the docs.
    assert set(document["paths"]) == {"/items", "/items/{item_id}"}
    assert set(document["paths"]["/items/{item_id}"]) == {"get", "put", "delete"}

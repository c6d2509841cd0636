"""The operations endpoints over HTTP, as an orchestrator and a Prometheus server see them."""

from __future__ import annotations

import httpx
import pytest
from mic.healthcheck import Probe
from mic.observability import CorrelationIdInterceptor, HttpMetricsInterceptor
from prometheus_client import CollectorRegistry

from {{ cookiecutter.__package_name }}.app import create_app
from {{ cookiecutter.__package_name }}.ops.routes import build_interceptors, build_ops_routes
from tests.support import client_for


async def passes() -> None:
    """A dependency that works."""


async def fails() -> None:
    """A dependency that is down."""
    raise ConnectionRefusedError("db.internal:5432 refused, password=hunter2")


def test_the_ops_routes() -> None:
    routes = build_ops_routes(probes=[Probe("db", passes)], registry=CollectorRegistry())
    assert [(r.method, r.path) for r in routes] == [
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/metrics"),
    ]


def test_probe_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match=r"probe names must be unique: \['db'\]"):
        build_ops_routes(
            probes=[Probe("db", passes), Probe("db", fails)], registry=CollectorRegistry()
        )


def test_the_correlation_id_wraps_the_metrics() -> None:
    outer, inner = build_interceptors(CollectorRegistry())
    assert isinstance(outer, CorrelationIdInterceptor)
    assert isinstance(inner, HttpMetricsInterceptor)


async def test_health_is_ok(client: httpx.AsyncClient) -> None:
    answer = await client.get("/health")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    assert answer.headers["cache-control"] == "no-store"


async def test_ready_reports_each_probe(client: httpx.AsyncClient) -> None:
    answer = await client.get("/ready")
    assert (answer.status_code, answer.json()["status"]) == (200, "ready")
    assert answer.json()["probes"]["items"]["status"] == "up"


async def test_a_failing_probe_is_a_503_that_hides_the_error_message() -> None:
    app = create_app(probes=[Probe("ok", passes), Probe("database", fails)])
    async with client_for(app) as client:
        answer = await client.get("/ready")
    body = answer.json()
    assert (answer.status_code, body["status"]) == (503, "not_ready")
    assert body["probes"]["ok"]["status"] == "up"
    assert (body["probes"]["database"]["status"], body["probes"]["database"]["error"]) == (
        "down",
        "ConnectionRefusedError",
    )
    assert "hunter2" not in answer.text


async def test_a_correlation_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/items", headers={"X-Request-ID": "req-42"})
    made = await client.get("/items")
    assert echoed.headers["x-request-id"] == "req-42"
    assert len(made.headers["x-request-id"]) == 32


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    await client.get("/items/not-a-uuid")
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    series = 'http_server_requests_total{method="GET",route="/health",status_class="2xx"} 1.0'
    assert series in answer.text
    assert 'route="/items/{item_id}",status_class="4xx"} 1.0' in answer.text

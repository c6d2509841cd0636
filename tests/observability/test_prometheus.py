"""counter/gauge/histogram registration, /metrics, and HTTP metrics on both frameworks."""

from __future__ import annotations

from typing import Any

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry

from mic.http import HttpRouterConfig, HttpRouteSpec
from mic.model import NotFoundError
from mic.observability import (
    DURATION_BUCKETS,
    PROMETHEUS_TEXT,
    REQUEST_DURATION,
    REQUESTS_TOTAL,
    HttpMetricsInterceptor,
    InMemoryMetricsBackend,
    MetricsBackend,
    PrometheusMetricsBackend,
    counter,
    gauge,
    histogram,
    metrics_route,
    register_http_metrics,
)
from tests.support import make_client, wire


def test_registering_twice_returns_the_same_metric() -> None:
    registry = CollectorRegistry()
    first = counter("jobs_total", "Jobs", ["kind"], registry=registry)
    assert counter("jobs_total", "Jobs", ["kind"], registry=registry) is first
    assert counter("jobs", registry=registry, labelnames=["kind"]) is first
    assert gauge("depth", registry=registry) is gauge("depth", registry=registry)
    timing = histogram("t_seconds", labelnames=["k"], buckets=[0.1, 1.0], registry=registry)
    assert histogram("t_seconds", labelnames=["k"], registry=registry) is timing
    assert histogram("t_seconds", labelnames=["k"], buckets=[0.1, 1.0], registry=registry) is timing


def test_registries_are_independent() -> None:
    assert counter("x_total", registry=CollectorRegistry()) is not counter(
        "x_total", registry=CollectorRegistry()
    )


def test_default_registry_is_used_without_one() -> None:
    metric = gauge("mic_test_default_registry_gauge", "test")
    assert gauge("mic_test_default_registry_gauge") is metric
    assert PrometheusMetricsBackend().registry is prometheus_client.REGISTRY


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda r: gauge("jobs_total", registry=r), "already registered as a counter"),
        (lambda r: counter("jobs_total", labelnames=["other"], registry=r), "with labels"),
        (lambda r: histogram("lat_seconds", buckets=[5.0], registry=r), "buckets"),
        (lambda r: counter("bad name", registry=r), "not a valid metric name"),
        (lambda r: counter("ok_total", labelnames=["a", "a"], registry=r), "duplicate"),
        (lambda r: counter("ok_total", labelnames=["a-b"], registry=r), "not a valid label"),
    ],
)
def test_registration_conflicts_and_bad_names(call: Any, match: str) -> None:
    registry = CollectorRegistry()
    counter("jobs_total", labelnames=["kind"], registry=registry)
    histogram("lat_seconds", buckets=[1.0], registry=registry)
    with pytest.raises(ValueError, match=match):
        call(registry)


async def _ok(*, item_id: str) -> dict[str, str]:
    return {"id": item_id}


async def _missing() -> None:
    raise NotFoundError(message="nope")


ROUTES = (
    HttpRouteSpec(method="GET", path="/items/{item_id}", name="items.get", category="items",
                  handler=_ok),
    HttpRouteSpec(method="POST", path="/missing", name="missing", category="items",
                  handler=_missing),
)  # fmt: skip


async def test_http_metrics_and_metrics_route(framework: str) -> None:
    registry = CollectorRegistry()
    register_http_metrics(registry)
    backend = PrometheusMetricsBackend(registry)
    config = HttpRouterConfig(interceptors=(HttpMetricsInterceptor(backend),))
    routes = (*ROUTES, metrics_route(registry))
    async with make_client(framework, routes, config) as client:
        await client.get("/items/1")
        await client.get("/items/2")
        await client.post("/missing")
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == PROMETHEUS_TEXT
    text = response.text
    assert "# HELP http_server_requests_total HTTP requests answered" in text
    ok = {"method": "GET", "route": "/items/{item_id}", "status_class": "2xx"}
    missing = {"method": "POST", "route": "/missing", "status_class": "4xx"}
    assert registry.get_sample_value(REQUESTS_TOTAL, ok) == 2
    assert registry.get_sample_value(REQUESTS_TOTAL, missing) == 1
    assert registry.get_sample_value(REQUEST_DURATION + "_count", ok) == 2
    bound = {**ok, "le": str(DURATION_BUCKETS[-1])}
    assert registry.get_sample_value(REQUEST_DURATION + "_bucket", bound) == 2
    assert "/items/1" not in text


async def test_same_series_on_both_frameworks() -> None:
    series = []
    for framework in ("fastapi", "litestar"):
        backend = InMemoryMetricsBackend()
        config = HttpRouterConfig(interceptors=(HttpMetricsInterceptor(backend),))
        async with make_client(framework, ROUTES, config) as client:
            await client.get("/items/1")
            await client.post("/missing")
        series.append((backend.series(REQUESTS_TOTAL), backend.series(REQUEST_DURATION)))
    assert series[0] == series[1]
    assert series[0][0] == [
        {"method": "GET", "route": "/items/{item_id}", "status_class": "2xx"},
        {"method": "POST", "route": "/missing", "status_class": "4xx"},
    ]


async def test_backend_from_router_services(framework: str) -> None:
    backend = InMemoryMetricsBackend()
    config = HttpRouterConfig(
        services={MetricsBackend: backend}, interceptors=(HttpMetricsInterceptor(),)
    )
    async with make_client(framework, ROUTES, config) as client:
        await client.get("/items/1")
    labels = {"method": "GET", "route": "/items/{item_id}", "status_class": "2xx"}
    assert backend.value(REQUESTS_TOTAL, labels) == 1


async def test_default_backend_is_the_default_registry(framework: str) -> None:
    config = HttpRouterConfig(interceptors=(HttpMetricsInterceptor(),))
    labels = {"method": "GET", "route": "/items/{item_id}", "status_class": "2xx"}
    before = prometheus_client.REGISTRY.get_sample_value(REQUESTS_TOTAL, labels) or 0.0
    async with make_client(framework, ROUTES, config) as client:
        await client.get("/items/1")
    assert prometheus_client.REGISTRY.get_sample_value(REQUESTS_TOTAL, labels) == before + 1


async def test_metrics_route_bytes_match_across_frameworks() -> None:
    registry = CollectorRegistry()
    counter("fixed_total", "Fixed", registry=registry).inc(3)
    answers = []
    for framework in ("fastapi", "litestar"):
        async with make_client(framework, (metrics_route(registry, path="/m"),)) as client:
            answers.append(wire(await client.get("/m")))
    assert answers[0] == answers[1]
    assert b"fixed_total 3.0" in answers[0][2]


async def test_unknown_paths_and_methods_add_one_series_not_one_per_raw_path(
    framework: str,
) -> None:
    """404 and 405 answers are counted (issue 9), under the route template or ``""``."""
    backend = InMemoryMetricsBackend()
    config = HttpRouterConfig(interceptors=(HttpMetricsInterceptor(backend),))
    async with make_client(framework, ROUTES, config) as client:
        statuses = [(await client.get(f"/nope/{n}")).status_code for n in range(20)]
        statuses.append((await client.delete("/items/1")).status_code)
        statuses.append((await client.head("/items/7")).status_code)
    assert statuses == [404] * 20 + [405, 200]
    assert sorted(backend.series(REQUESTS_TOTAL), key=str) == sorted(
        [
            {"method": "GET", "route": "", "status_class": "4xx"},
            {"method": "DELETE", "route": "/items/{item_id}", "status_class": "4xx"},
            {"method": "HEAD", "route": "/items/{item_id}", "status_class": "2xx"},
        ],
        key=str,
    )


@pytest.mark.parametrize(
    ("first", "then", "match"),
    [
        (
            {"kind": "a"},
            {"other": "b"},
            r"'jobs' is a counter with labels \('kind',\); got labels \('other',\)",
        ),
        ({"kind": "a"}, {"kind": "a", "extra": "b"}, r"got labels \('extra', 'kind'\)"),
        ({"kind": "a"}, None, r"got labels \(\)"),
    ],
)
def test_prometheus_backend_names_the_metric_on_other_labels(
    first: dict[str, str], then: dict[str, str] | None, match: str
) -> None:
    backend = PrometheusMetricsBackend(CollectorRegistry())
    backend.increment("jobs", labels=first)
    with pytest.raises(ValueError, match=match):
        backend.increment("jobs", labels=then)

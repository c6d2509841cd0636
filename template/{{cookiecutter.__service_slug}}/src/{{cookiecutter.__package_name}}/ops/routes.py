"""Liveness, readiness and metrics for this service, assembled from mic-kit's building blocks.

`mic.healthcheck` gives the /health and /ready routes and the concurrent `ReadinessChecker`;
`mic.observability` gives the /metrics route, the request metrics interceptor and the
correlation id interceptor. This module only decides which of them the service uses.
"""

from __future__ import annotations

from collections.abc import Sequence

from mic.healthcheck import Probe, ReadinessChecker, health_route, readiness_route
from mic.http import HttpRouteSpec, RouteInterceptor
from mic.observability import (
    CorrelationIdInterceptor,
    HttpMetricsInterceptor,
    PrometheusMetricsBackend,
    metrics_route,
    register_http_metrics,
)
from prometheus_client import CollectorRegistry


def build_ops_routes(
    *, probes: Sequence[Probe], registry: CollectorRegistry
) -> tuple[HttpRouteSpec, ...]:
    """``/health`` (no I/O), ``/ready`` (runs `probes`) and ``/metrics`` (serves `registry`).

    Raises:
        ValueError: Two probes share a name.
    """
    return (
        health_route(),
        readiness_route(ReadinessChecker(probes)),
        metrics_route(registry),
    )


def build_interceptors(registry: CollectorRegistry) -> tuple[RouteInterceptor, ...]:
    """What wraps every route, outermost first: the correlation id, then request metrics.

    Request counts and durations go to `registry`, labelled by method, route template and
    status class.
    """
    register_http_metrics(registry)
    return (
        CorrelationIdInterceptor(),
        HttpMetricsInterceptor(backend=PrometheusMetricsBackend(registry)),
    )

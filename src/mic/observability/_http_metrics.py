"""`HttpMetricsInterceptor`: request count and duration per method, route template, status class.

Router-wide, so FastAPI and Litestar apps record the same series under the same names.
Labels use the route *template* (``/items/{item_id}``), never the raw path: bounded
cardinality, and no identifiers or secrets from URLs in label values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Interceptor,
    RouteInterceptor,
)
from mic.observability._backends import MetricsBackend

REQUESTS_TOTAL: Final = "http_server_requests_total"
REQUEST_DURATION: Final = "http_server_request_duration_seconds"
DURATION_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LABELS: Final = ("method", "route", "status_class")


@dataclass(frozen=True, slots=True)
class HttpMetricsInterceptor(RouteInterceptor):
    """Count requests and time them, per method, route template and status class.

    Records ``http_server_requests_total`` (counter) and
    ``http_server_request_duration_seconds`` (histogram, seconds), both labelled
    ``method``, ``route`` and ``status_class`` (``2xx``...). A request whose client
    disconnects before the answer is not recorded.

    Attributes:
        backend: Where to record; when ``None``, the router's ``MetricsBackend`` service,
            else a Prometheus backend on the default registry (extra ``observability``).
    """

    backend: MetricsBackend | None = field(default=None)

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """The per-request callable for `route`.

        Raises:
            MissingDependencyError: No backend is given or registered and
                prometheus-client is not installed.
        """
        backend = self.backend or config.get(MetricsBackend) or _default_backend()
        increment, observe = backend.increment, backend.observe
        clock = time.perf_counter

        async def measure(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            started = clock()
            response = await call_next(context)
            labels = {
                "method": context.method,
                "route": context.route_path,
                "status_class": f"{response.status_code // 100}xx",
            }
            increment(REQUESTS_TOTAL, labels=labels)
            observe(REQUEST_DURATION, clock() - started, labels=labels)
            return response

        return measure


def _default_backend() -> MetricsBackend:
    from mic.observability._prometheus import PrometheusMetricsBackend

    backend = PrometheusMetricsBackend()
    register_http_metrics(backend.registry)
    return backend


def register_http_metrics(registry: object = None) -> None:
    """Register the HTTP metrics with help text and buckets in a Prometheus `registry`.

    Call it before a `PrometheusMetricsBackend` on that registry records them, so the
    histogram gets `DURATION_BUCKETS` and both metrics get their ``# HELP`` line.
    """
    from mic.observability._prometheus import counter, histogram

    counter(REQUESTS_TOTAL, "HTTP requests answered", _LABELS, registry=registry)
    histogram(
        REQUEST_DURATION,
        "Time to answer an HTTP request, in seconds",
        _LABELS,
        buckets=DURATION_BUCKETS,
        registry=registry,
    )

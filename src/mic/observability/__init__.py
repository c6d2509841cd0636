"""Logs, metrics and traces for mic services, with one redaction policy across all of them.

- Logging: `configure_logging` (JSON or text lines with correlation id, trace/span ids and
  route), `RedactingLogFilter`, and `CorrelationIdInterceptor` for HTTP routers.
- Metrics: `counter`/`gauge`/`histogram` (Prometheus, extra ``observability``), the
  `MetricsBackend` interface, `SanitizingMetricsBackend`, `HttpMetricsInterceptor`, and
  `metrics_route` for ``/metrics``.
- Traces: `configure_tracing` and `RedactingSpanProcessor` (OpenTelemetry SDK, extra
  ``tracing``), and `TracingInterceptor` for server spans on HTTP routers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mic.observability._backends import InMemoryMetricsBackend, MetricsBackend
from mic.observability._context import TraceParent, current_route, log_context, parse_traceparent
from mic.observability._correlation import CorrelationIdInterceptor
from mic.observability._http_metrics import (
    DURATION_BUCKETS,
    REQUEST_DURATION,
    REQUESTS_TOTAL,
    HttpMetricsInterceptor,
    register_http_metrics,
)
from mic.observability._log_redaction import RedactingLogFilter
from mic.observability._logging import (
    JsonLogFormatter,
    LogContextFilter,
    TextLogFormatter,
    configure_logging,
)
from mic.observability._prometheus import (
    PROMETHEUS_TEXT,
    PrometheusMetricsBackend,
    counter,
    gauge,
    histogram,
    metrics_route,
)
from mic.observability._sanitizing import (
    DEFAULT_DENIED_LABELS,
    REJECTED_METRIC,
    MetricLabelViolation,
    SanitizingMetricsBackend,
)
from mic.observability._server_spans import TracingInterceptor

if TYPE_CHECKING:
    from mic.observability._tracing import RedactingSpanProcessor, configure_tracing

__all__ = [
    "DEFAULT_DENIED_LABELS",
    "DURATION_BUCKETS",
    "PROMETHEUS_TEXT",
    "REJECTED_METRIC",
    "REQUESTS_TOTAL",
    "REQUEST_DURATION",
    "CorrelationIdInterceptor",
    "HttpMetricsInterceptor",
    "InMemoryMetricsBackend",
    "JsonLogFormatter",
    "LogContextFilter",
    "MetricLabelViolation",
    "MetricsBackend",
    "PrometheusMetricsBackend",
    "RedactingLogFilter",
    "RedactingSpanProcessor",
    "SanitizingMetricsBackend",
    "TextLogFormatter",
    "TraceParent",
    "TracingInterceptor",
    "configure_logging",
    "configure_tracing",
    "counter",
    "current_route",
    "gauge",
    "histogram",
    "log_context",
    "metrics_route",
    "parse_traceparent",
    "register_http_metrics",
]


def __getattr__(name: str) -> Any:
    # These need the SDK (the span processor subclasses an SDK class): import it, and the
    # extra, on first use.
    if name in ("RedactingSpanProcessor", "configure_tracing"):
        from mic.observability import _tracing

        return getattr(_tracing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

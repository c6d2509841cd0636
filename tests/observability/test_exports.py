"""The public surface of mic.observability is pinned."""

import pytest

import mic.observability


def test_all_is_pinned() -> None:
    assert sorted(mic.observability.__all__) == sorted([
        "DEFAULT_DENIED_LABELS", "DURATION_BUCKETS", "PROMETHEUS_TEXT", "REJECTED_METRIC",
        "REQUESTS_TOTAL", "REQUEST_DURATION", "CorrelationIdInterceptor",
        "HttpMetricsInterceptor", "InMemoryMetricsBackend", "JsonLogFormatter",
        "LogContextFilter", "MetricLabelViolation", "MetricsBackend",
        "PrometheusMetricsBackend", "RedactingLogFilter", "RedactingSpanProcessor",
        "SanitizingMetricsBackend", "TextLogFormatter", "TraceParent", "TracingInterceptor",
        "configure_logging", "configure_tracing",
        "counter", "current_route", "gauge", "histogram", "log_context", "metrics_route",
        "parse_traceparent", "register_http_metrics",
    ])  # fmt: skip
    for name in mic.observability.__all__:
        assert getattr(mic.observability, name) is not None


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = mic.observability.Nope  # type: ignore[attr-defined]

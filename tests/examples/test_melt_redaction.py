"""The README's MELT redaction examples (examples/melt_redaction.py) work as written."""

from __future__ import annotations

import io
import logging

import pytest
from examples.melt_redaction import (
    add_span_redaction,
    redacting_log_handler,
    safe_event,
    sanitized_metrics,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest

from mic.observability import PrometheusMetricsBackend


def test_logs_hash_emails_and_drop_tokens() -> None:
    stream = io.StringIO()
    handler = redacting_log_handler(logging.StreamHandler(stream))
    logger = logging.getLogger("tests.melt")
    logger.addHandler(handler)
    try:
        logger.warning(
            "login %s",
            {"email": "ada@example.com", "access_token": "tok-123"},
            extra={"email": "ada@example.com"},
        )
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue()
    assert "ada@example.com" not in line
    assert "tok-123" not in line
    assert "hmac:" in line


def test_spans_lose_their_sensitive_attributes_before_export() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    add_span_redaction(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.melt")
    with tracer.start_as_current_span(
        "query", attributes={"db.statement": "SELECT secret", "db.system": "postgresql"}
    ):
        pass
    (span,) = exporter.get_finished_spans()
    assert "SELECT secret" not in str(dict(span.attributes or {}))
    assert "postgresql" == (span.attributes or {})["db.system"]


def test_events_are_redacted_per_topic() -> None:
    event = {
        "topic": "application.received",
        "email": "ada@example.com",
        "otp_code": "123456",
        "name": "Ada",
    }
    safe = safe_event(event)
    assert "otp_code" not in safe
    assert str(safe["email"]).startswith("hmac:")
    assert ("Ada", "123456") == (safe["name"], event["otp_code"])  # the input is untouched
    assert "ada@example.com" == safe_event({"topic": "other", "email": "ada@example.com"})["email"]


def test_metrics_refuse_sensitive_labels_and_count_the_rejections(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    metrics = sanitized_metrics(PrometheusMetricsBackend(registry))
    with caplog.at_level(logging.WARNING):
        metrics.increment("orders_total", labels={"email": "ada@example.com"})
    exposition = generate_latest(registry).decode()
    assert 'orders_total{status_class="2xx"} 1.0' in exposition
    assert "ada@example.com" not in exposition
    assert "rejected_total" in exposition

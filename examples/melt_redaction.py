"""The spec's MELT redaction examples, one per pillar: logs, traces, events, metrics.

Each service injects its own policy (which field, which strategy); the mechanism is shared.
"""

from __future__ import annotations

import logging
from typing import Any

from mic.observability import (
    PrometheusMetricsBackend,
    RedactingLogFilter,
    RedactingSpanProcessor,
    SanitizingMetricsBackend,
)
from mic.outbox import TopicRedactionPolicy, redact_drop, redact_hash, sanitize_payload


def redacting_log_handler(handler: logging.Handler) -> logging.Handler:
    """Logs: hash e-mails (still correlatable), drop access tokens."""
    handler.addFilter(
        RedactingLogFilter(
            redactors={
                "email": redact_hash,
                "access_token": redact_drop,
            }
        )
    )
    return handler


def add_span_redaction(provider: Any) -> None:
    """Traces: scrub span and span-event attributes before export."""
    provider.add_span_processor(
        RedactingSpanProcessor(
            redactors={
                "db.statement": redact_drop,
                "http.request.body": redact_drop,
                "exception.message": redact_hash,
            }
        )
    )


POLICY = TopicRedactionPolicy(
    default={"otp_code": redact_drop},
    per_topic={"application.received": {"email": redact_hash}},
)


def safe_event(event: dict[str, Any]) -> dict[str, Any]:
    """Events: a redacted copy, before the row reaches the outbox."""
    safe: dict[str, Any] = sanitize_payload(event, policy=POLICY)
    return safe


def sanitized_metrics(prometheus_backend: PrometheusMetricsBackend) -> SanitizingMetricsBackend:
    """Metrics: refuse sensitive label names, cap label cardinality."""
    metrics = SanitizingMetricsBackend(
        prometheus_backend,
        denied_labels={"email", "access_token"},
        strict=False,
    )
    metrics.increment("orders_total", labels={"status_class": "2xx"})  # OK
    return metrics

"""RedactingSpanProcessor: the wrapping form, the spec's guard form, and delegation."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from mic.observability import RedactingSpanProcessor
from mic.outbox import redact_drop, redact_hash
from mic.redaction import REDACTED, RedactionPolicy

SPEC_REDACTORS = {
    "db.statement": redact_drop,
    "http.request.body": redact_drop,
    "exception.message": redact_hash,
}


def _export(processor_factory: type[RedactingSpanProcessor] | None = None) -> ReadableSpan:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(
        RedactingSpanProcessor(SimpleSpanProcessor(exporter), redactors=SPEC_REDACTORS)
    )
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span(
        "GET /reset?token=abc", attributes={"db.statement": "SELECT 1", "http.method": "GET"}
    ) as span:
        span.set_attribute("http.request.body", '{"password": "x"}')
        span.set_attribute("tags", ["ok", "Bearer abcdefgh"])
        span.set_attribute("count", 3)
        span.add_event("retry", {"password": "p", "attempt": 2})
        span.record_exception(ValueError("bad"))
        span.set_status(Status(StatusCode.ERROR, "url postgres://u:pw@h/db"))
    (exported,) = exporter.get_finished_spans()
    return exported


def test_wrapping_form_exports_a_redacted_copy() -> None:
    span = _export()
    assert span.name == f"GET /reset?token={REDACTED}"
    assert dict(span.attributes or {}) == {
        "http.method": "GET",
        "tags": ("ok", f"Bearer {REDACTED}"),
        "count": 3,
    }
    retry, exception = span.events
    assert dict(retry.attributes or {}) == {"attempt": 2}
    assert (exception.attributes or {})["exception.message"] == redact_hash("bad")
    assert span.status.description == f"url postgres://u:{REDACTED}@h/db"


def test_guard_form_redacts_start_attributes_in_place_and_warns_about_late_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RedactingSpanProcessor(redactors=SPEC_REDACTORS))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with caplog.at_level(logging.WARNING, logger="mic.observability"):
        for _ in range(2):
            with tracer.start_as_current_span(
                "q", attributes={"db.statement": "SELECT secret", "note": "token=abc", "n": 1}
            ) as span:
                span.set_attribute("http.request.body", "late secret")
    first = exporter.get_finished_spans()[0]
    assert dict(first.attributes or {}) == {
        "db.statement": REDACTED,
        "note": f"token={REDACTED}",
        "n": 1,
        "http.request.body": "late secret",
    }
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "http.request.body" in warnings[0]
    assert "late secret" not in warnings[0]
    assert provider.force_flush()
    provider.shutdown()


class _Recorder(SimpleSpanProcessor):
    def __init__(self) -> None:
        super().__init__(InMemorySpanExporter())
        self.calls: list[str] = []

    def on_start(self, span: object, parent_context: object = None) -> None:
        self.calls.append("start")

    def shutdown(self) -> None:
        self.calls.append("shutdown")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.calls.append(f"flush {timeout_millis}")
        return False


def test_delegates_lifecycle_to_the_wrapped_processor() -> None:
    inner = _Recorder()
    processor = RedactingSpanProcessor(inner, policy=RedactionPolicy())
    provider = TracerProvider()
    provider.add_span_processor(processor)
    provider.get_tracer("t").start_span("s").end()
    assert processor.force_flush(5) is False
    processor.shutdown()
    assert inner.calls == ["start", "flush 5", "shutdown"]


def test_non_primitive_results_become_strings() -> None:
    processor = RedactingSpanProcessor(redactors={"user": lambda v: {"id": v}})
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(
        RedactingSpanProcessor(SimpleSpanProcessor(exporter), policy=processor.policy)
    )
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("user", "u1")
        span.set_attribute("pairs", ["a", "b"])
    (exported,) = exporter.get_finished_spans()
    assert (exported.attributes or {})["user"] == "{'id': 'u1'}"
    assert (exported.attributes or {})["pairs"] == ("a", "b")


def test_both_arguments_is_an_error() -> None:
    with pytest.raises(TypeError, match="not both"):
        RedactingSpanProcessor(redactors={}, policy=RedactionPolicy())

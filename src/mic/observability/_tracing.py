"""`RedactingSpanProcessor`: the redaction policy applied to spans before they are exported.

Public OpenTelemetry SDK APIs only. An ended span is read-only, so the complete form wraps
the exporting processor and hands it a redacted copy; see ADR 0043.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from mic._deps import require

require("opentelemetry.sdk.trace", "tracing")

# The extra is checked above, so a missing SDK fails with MissingDependencyError.
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor  # noqa: E402
from opentelemetry.trace import Link, Status  # noqa: E402

from mic.redaction import DROP, REDACTED, RedactionPolicy, Redactor  # noqa: E402
from mic.redaction._policy import as_policy  # noqa: E402

logger = logging.getLogger("mic.observability")


class RedactingSpanProcessor(SpanProcessor):
    """Scrub span names, attributes, event attributes and status text before export.

    Two ways to use it:

    - **Wrapping** (complete): ``RedactingSpanProcessor(BatchSpanProcessor(exporter),
      redactors=...)``. The wrapped processor (and so the exporter) only ever sees a
      redacted copy of each span: name, attributes, events (``exception.message``,
      ``exception.stacktrace``...), links and status description.
    - **Guard** (the spec's short form, no wrapped processor): added before the exporting
      processor, it redacts the attributes a span is *started* with, in place (public
      ``Span.set_attribute``; a dropped attribute becomes ``[REDACTED]``). Attributes and
      events added later cannot be changed by public APIs once the span ends: the guard
      logs a warning (naming the attribute, never its value) the first time it sees one.

    Args:
        processor: The processor to forward redacted spans to (wrapping form).
        redactors: Attribute name to strategy (``db.statement``, ``http.request.body``...);
            names match case- and separator-insensitively, the usual secret names are
            dropped and secret patterns are redacted in every string value.
        policy: A ready `RedactionPolicy` instead of `redactors`.

    Raises:
        TypeError: Both `redactors` and `policy` were given.
        MissingDependencyError: opentelemetry-sdk is not installed (extra ``tracing``).
    """

    def __init__(
        self,
        processor: Any = None,
        *,
        redactors: Mapping[str, Redactor] | None = None,
        policy: RedactionPolicy | None = None,
    ) -> None:
        self.processor = processor
        self.policy = as_policy(redactors, policy)
        self._warned: set[str] = set()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        """Redact the attributes the span starts with, in place; forward the start."""
        for key, value in dict(span.attributes or {}).items():
            redacted = self._attribute(key, value)
            if redacted is DROP:
                span.set_attribute(key, REDACTED)
            elif redacted != value:
                span.set_attribute(key, redacted)
        if self.processor is not None:
            self.processor.on_start(span, parent_context=parent_context)

    def on_end(self, span: Any) -> None:
        """Forward a redacted copy (wrapping form), or warn about late attributes (guard)."""
        if self.processor is not None:
            self.processor.on_end(self.redact_span(span))
            return
        pairs = self._all_attributes(span)
        for key in [key for key, value in pairs if self._leaks(key, value)]:
            if key not in self._warned:
                self._warned.add(key)
                logger.warning(
                    "span attribute %s was set after the span started and cannot be redacted "
                    "in place; wrap the exporting processor in RedactingSpanProcessor", key
                )  # fmt: skip

    def shutdown(self) -> None:
        """Shut the wrapped processor down."""
        if self.processor is not None:
            self.processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped processor."""
        return True if self.processor is None else bool(self.processor.force_flush(timeout_millis))

    def redact_span(self, span: Any) -> Any:
        """A redacted copy of a finished span (an SDK ``ReadableSpan``)."""
        policy = self.policy
        status = span.status
        if status.description:
            status = Status(status.status_code, policy.scrub_text(status.description))
        events = [
            Event(event.name, self._attributes(event.attributes), event.timestamp)
            for event in span.events
        ]
        links = [Link(link.context, self._attributes(link.attributes)) for link in span.links]
        return ReadableSpan(
            name=policy.scrub_text(span.name), context=span.context, parent=span.parent,
            resource=span.resource, attributes=self._attributes(span.attributes),
            events=events, links=links, kind=span.kind, status=status,
            start_time=span.start_time, end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )  # fmt: skip

    def _leaks(self, key: str, value: Any) -> bool:
        redacted = self._attribute(key, value)
        return redacted != value and not (redacted is DROP and value == REDACTED)

    def _attribute(self, key: str, value: Any) -> Any:
        redacted = self.policy.redact_field(key, value)
        if redacted is DROP:
            return DROP
        return _as_attribute(redacted)

    def _attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (attributes or {}).items():
            redacted = self._attribute(key, value)
            if redacted is not DROP:
                out[key] = redacted
        return out

    @staticmethod
    def _all_attributes(span: Any) -> list[tuple[str, Any]]:
        pairs = list((span.attributes or {}).items())
        for event in span.events:
            pairs.extend((event.attributes or {}).items())
        return pairs


def _as_attribute(value: Any) -> Any:
    # Attribute values must stay primitives or homogeneous sequences of primitives.
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items = [_as_attribute(item) for item in value]
        if all(isinstance(item, str | bool | int | float) for item in items):
            return tuple(items)
        return str(items)
    return str(value)

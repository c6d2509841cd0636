"""`configure_tracing` and `RedactingSpanProcessor`: the OpenTelemetry SDK set up for mic.

Public OpenTelemetry SDK APIs only. An ended span is read-only, so the complete form of the
processor wraps the exporting processor and hands it a redacted copy; see ADR 0043.
`configure_tracing` always exports through it.
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

from mic import _trace  # noqa: E402
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
                    "in place; wrap the exporting processor in RedactingSpanProcessor",
                    key,
                )

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
            name=policy.scrub_text(span.name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=self._attributes(span.attributes),
            events=events,
            links=links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

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


EXPORTERS = ("otlp", "console")


def _exporter(exporter: Any) -> Any:
    if not isinstance(exporter, str):
        from opentelemetry.sdk.trace.export import SpanExporter

        if not isinstance(exporter, SpanExporter):
            raise TypeError(
                f"exporter must be a SpanExporter or one of {EXPORTERS}, not "
                f"{type(exporter).__name__}"
            )
        return exporter
    if exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if exporter == "otlp":
        otlp = require("opentelemetry.exporter.otlp.proto.http.trace_exporter", "tracing")
        return otlp.OTLPSpanExporter()
    raise ValueError(f"exporter must be a SpanExporter or one of {EXPORTERS}, not {exporter!r}")


def configure_tracing(
    service_name: str,
    *,
    exporter: Any = "otlp",
    resource_attributes: Mapping[str, str | int | float | bool] | None = None,
    sampler: Any = None,
    redactors: Mapping[str, Redactor] | None = None,
    batch: bool = True,
    set_global: bool = True,
) -> Any:
    """Set up OpenTelemetry tracing for this process in one call; return the provider.

    Spans (mic's own and everyone's using the global provider) are redacted by
    `RedactingSpanProcessor` and exported by `exporter`. mic's server, client, producer and
    consumer spans go to this provider from now on, even when `set_global` is false or a
    global provider was already set. Call ``provider.shutdown()`` at exit to flush.

    Args:
        service_name: ``service.name`` of the resource (``orders-api``).
        exporter: A ``SpanExporter``; ``"otlp"`` (OTLP over HTTP, configured by the standard
            ``OTEL_EXPORTER_OTLP_*`` variables) or ``"console"``; ``None`` exports nothing
            (spans still give logs their trace ids and calls their ``traceparent``).
        resource_attributes: More resource attributes (``deployment.environment.name``...).
        sampler: An SDK sampler (default: the SDK's, parent-based always-on, which honours
            ``OTEL_TRACES_SAMPLER``).
        redactors: Span attribute redaction rules (see `RedactingSpanProcessor`).
        batch: Export in the background in batches (``False``: synchronously, for tests).
        set_global: Also install the provider as OpenTelemetry's global one (skipped, with
            a warning, when another SDK provider is already installed).

    Raises:
        ValueError: An empty `service_name` or an unknown exporter name.
        TypeError: `exporter` is neither an exporter nor a name.
        MissingDependencyError: The SDK (or, for ``"otlp"``, the OTLP exporter) is missing
            (extra ``tracing``).
    """
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if not isinstance(service_name, str) or not service_name.strip():
        raise ValueError("service_name must be a non-empty string")
    chosen = None if exporter is None else _exporter(exporter)
    resource = Resource.create({**(resource_attributes or {}), "service.name": service_name})
    provider = TracerProvider(resource=resource, sampler=sampler)
    if chosen is not None:
        processor = BatchSpanProcessor(chosen) if batch else SimpleSpanProcessor(chosen)
        provider.add_span_processor(RedactingSpanProcessor(processor, redactors=redactors))
    _trace.use_provider(provider)
    if set_global:
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            trace.set_tracer_provider(provider)
        else:
            logger.warning(
                "a global tracer provider is already installed: mic's spans use the new one, "
                "other instrumentation keeps the old one"
            )
    return provider

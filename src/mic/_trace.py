"""OpenTelemetry glue shared by the HTTP interceptor, the service client and the event bus.

mic instruments itself the way OpenTelemetry asks libraries to: through the API only. When
``opentelemetry-api`` is not installed, or no SDK provider is configured (by
`configure_tracing` or globally), every helper here is a cheap no-op. W3C Trace Context headers are
always taken from the *current* span, with ``tracestate`` kept; without a valid span, the
values the request or event arrived with (`mic.context`) are passed on unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, Final

from mic import context as mic_context

INSTRUMENTATION_NAME: Final = "mic"

_state: dict[str, Any] = {"provider": None, "tracer": None}


@functools.cache
def otel() -> Any:
    """The OpenTelemetry API modules, or ``None`` when the API is not installed."""
    try:
        from opentelemetry import context, trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    except ImportError:  # the tracing extra is optional
        return None
    return SimpleNamespace(context=context, trace=trace, w3c=TraceContextTextMapPropagator())


def use_provider(provider: Any) -> None:
    """Create mic's spans with `provider` from now on (``None``: the global provider)."""
    _state["provider"] = provider
    _state["tracer"] = None


def tracer() -> Any:
    """mic's tracer; ``None`` without the API or when no SDK provider is configured.

    With nothing configured, mic makes no spans at all (rather than non-recording ones,
    about four times the cost of a publish): headers and events then carry what the request
    or event arrived with. The check is made per call, so an SDK configured later is used
    from then on.
    """
    api = otel()
    if api is None:
        return None
    provider = _state["provider"]
    if provider is None:
        provider = api.trace.get_tracer_provider()
        if isinstance(provider, api.trace.ProxyTracerProvider):
            return None
    cached = _state["tracer"]
    if cached is None or cached[0] is not provider:
        from mic import __version__

        cached = _state["tracer"] = (
            provider,
            provider.get_tracer(INSTRUMENTATION_NAME, __version__),
        )
    return cached[1]


def current_span() -> Any:
    """The current span when it is valid, else ``None``."""
    api = otel()
    if api is None:
        return None
    span = api.trace.get_current_span()
    return span if span.get_span_context().is_valid else None


def trace_headers() -> dict[str, str]:
    """``traceparent`` (and ``tracestate`` when there is one) to send downstream now.

    From the current span when there is a valid one (so the receiver's parent is the span
    that made the call); otherwise the values the current request or event carried.
    """
    headers: dict[str, str] = {}
    if current_span() is not None:
        otel().w3c.inject(headers)
        return headers
    if (parent := mic_context.traceparent.get()) is not None:
        headers["traceparent"] = parent
        if (state := mic_context.tracestate.get()) is not None:
            headers["tracestate"] = state
    return headers


def extract(headers: Mapping[str, str]) -> Any:
    """The OpenTelemetry context whose parent is the one in `headers` (W3C Trace Context)."""
    api = otel()
    carrier = {k: v for k, v in headers.items() if k in ("traceparent", "tracestate")}
    return api.w3c.extract(carrier) if carrier else None


def server_span_in_progress() -> Any:
    """The recording server span a framework's own instrumentation started, if any."""
    span = current_span()
    if span is None or not span.is_recording():
        return None
    return span if getattr(span, "kind", None) == otel().trace.SpanKind.SERVER else None


@contextmanager
def start_span(
    name: str,
    kind: str,
    attributes: Mapping[str, Any],
    *,
    parent: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """A current span named `name` of `kind` (``SERVER``, ``CLIENT``, ``PRODUCER``...).

    Yields ``None`` without the OpenTelemetry API. `parent` holds W3C headers to continue
    (an event's ``traceparent``); without it the current span is the parent. An exception
    is recorded on the span, sets its status to error, and propagates.
    """
    found = tracer()
    if found is None:
        yield None
        return
    api = otel()
    context = extract(parent) if parent else None
    with found.start_as_current_span(
        name, context=context, kind=getattr(api.trace.SpanKind, kind), attributes=attributes
    ) as span:
        yield span


def set_error(span: Any, error_type: str, description: str | None = None) -> None:
    """Mark `span` failed (status error, ``error.type``), when there is a span."""
    if span is None:
        return
    api = otel()
    span.set_attribute("error.type", error_type)
    span.set_status(api.trace.Status(api.trace.StatusCode.ERROR, description))

"""What a log line knows about the current request: correlation id, trace, span, route.

Values come from the context variables the correlation interceptor sets (`mic.context`)
and, when OpenTelemetry is installed, the current span.
"""

from __future__ import annotations

import functools
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

from mic import context as mic_context

current_route: Final[ContextVar[str | None]] = mic_context.route
"""Alias of `mic.context.route` (the same variable), kept for code written against it."""

# W3C Trace Context, section 3.2.2: version-traceid-parentid-flags, lower-case hex.
_TRACEPARENT: Final = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE: Final = "0" * 32
_ZERO_SPAN: Final = "0" * 16
_V00_LENGTH: Final = 55


@dataclass(frozen=True, slots=True)
class TraceParent:
    """A parsed W3C ``traceparent`` header.

    Attributes:
        version: Two hex digits (``00`` today).
        trace_id: 32 hex digits, never all zeros.
        parent_id: 16 hex digits (the caller's span), never all zeros.
        flags: Two hex digits; bit 0 is "sampled".
    """

    version: str
    trace_id: str
    parent_id: str
    flags: str

    @property
    def sampled(self) -> bool:
        """Whether the caller sampled this trace."""
        return bool(int(self.flags, 16) & 1)


def parse_traceparent(value: str) -> TraceParent | None:
    """Parse a ``traceparent`` header; ``None`` when it is not valid.

    Follows W3C Trace Context section 3.2: version ``ff`` and all-zero ids are invalid;
    version ``00`` must be exactly 55 characters; a later version may append ``-...``.
    """
    match = _TRACEPARENT.match(value)
    if match is None:
        return None
    version, trace_id, parent_id, flags = match.groups()
    if version == "ff" or trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    if len(value) != _V00_LENGTH and (version == "00" or value[_V00_LENGTH] != "-"):
        return None
    return TraceParent(version, trace_id, parent_id, flags)


@functools.cache
def _otel_trace() -> Any:
    try:
        from opentelemetry import trace
    except ImportError:  # the tracing extra is optional
        return None
    return trace


def _otel_span_ids() -> tuple[str | None, str | None]:
    trace = _otel_trace()
    if trace is None:
        return None, None
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None, None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def log_context() -> dict[str, str | None]:
    """Correlation id, trace id, span id and route of the current context.

    The trace and span ids come from the current OpenTelemetry span when there is one;
    otherwise the trace id comes from the request's ``traceparent`` and the span id is
    ``None`` (the caller's span is not ours).
    """
    trace_id, span_id = _otel_span_ids()
    if trace_id is None:
        header = mic_context.traceparent.get()
        parsed = parse_traceparent(header) if header else None
        trace_id = parsed.trace_id if parsed else None
    return {
        "correlation_id": mic_context.correlation_id.get(),
        "trace_id": trace_id,
        "span_id": span_id,
        "route": mic_context.route.get(),
    }

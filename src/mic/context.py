"""Request-scoped context variables shared across the toolkit (standard library only).

The HTTP correlation interceptor (`mic.observability`) sets them for each request; the
service client, the event bus and log formatting read them, so one id follows a request
across services, events and log lines.
"""

from __future__ import annotations

from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("mic_correlation_id", default=None)
"""The current request's correlation id (``X-Request-ID`` / ``X-Correlation-ID``)."""

traceparent: ContextVar[str | None] = ContextVar("mic_traceparent", default=None)
"""The current W3C ``traceparent`` header value, when the request carried a valid one."""

tracestate: ContextVar[str | None] = ContextVar("mic_tracestate", default=None)
"""The W3C ``tracestate`` header that came with `traceparent` (vendor data to pass on)."""

route: ContextVar[str | None] = ContextVar("mic_route", default=None)
"""The matched route template of the current request (``/items/{item_id}``), never the raw path."""

__all__ = ["correlation_id", "route", "traceparent", "tracestate"]

"""`TracingInterceptor`: one OpenTelemetry server span per request of a mic route.

The span follows the HTTP semantic conventions and is built from the request the pipeline
sees, so it is the same on every framework. When the framework's own instrumentation
already opened a server span for the request, mic names and completes that one instead of
nesting a second server span under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mic._deps import require
from mic._trace import server_span_in_progress, set_error, start_span, tracer
from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Interceptor,
    RouteInterceptor,
)


def _host_and_port(host: str | None, scheme: str) -> tuple[str | None, int | None]:
    """``server.address`` and ``server.port`` from a ``Host`` header (RFC 9110 section 7.2)."""
    if not host:
        return None, None
    if host.startswith("["):  # an IPv6 literal: ``[::1]:8000``
        end = host.find("]") + 1
        name, port = host[:end], host[end + 1 :] if host[end : end + 1] == ":" else ""
    else:
        name, _, port = host.partition(":")
    if not port:
        return name, 443 if scheme == "https" else 80
    return name, int(port) if port.isdigit() else None


def request_attributes(context: HttpRequestContext) -> dict[str, Any]:
    """The server span's start attributes for `context` (HTTP semantic conventions).

    The query string is left out: it may carry secrets (``url.query`` is opt-in).
    """
    headers = context.headers
    address, port = _host_and_port(headers.get("host"), context.scheme)
    attributes: dict[str, Any] = {
        "http.request.method": context.method,
        "http.route": context.route_path,
        "url.path": context.path,
        "url.scheme": context.scheme,
    }
    if address is not None:
        attributes["server.address"] = address
    if port is not None:
        attributes["server.port"] = port
    if context.client_host is not None:
        attributes["client.address"] = context.client_host
    if (agent := headers.get("user-agent")) is not None:
        attributes["user_agent.original"] = agent
    return attributes


def _trace_headers(context: HttpRequestContext) -> dict[str, str]:
    headers = context.headers
    carried: dict[str, str] = {}
    if (parent := headers.get("traceparent")) is not None:
        carried["traceparent"] = parent
        if states := headers.getall("tracestate"):
            carried["tracestate"] = ",".join(states)
    return carried


@dataclass(frozen=True, slots=True)
class TracingInterceptor(RouteInterceptor):
    """A server span per request: ``GET /items/{item_id}``, kind server.

    Put it first in ``HttpRouterConfig(interceptors=...)`` so every other interceptor, the
    handler, its logs, its events and its outgoing calls run inside the span. The parent is
    the request's W3C ``traceparent`` (``tracestate`` kept). A 5xx answer marks the span as
    failed (``error.type`` is the status); a 4xx does not (the server did its job).

    Raises:
        MissingDependencyError: The OpenTelemetry API is not installed (extra ``tracing``),
            when a router using it is built.
    """

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """The per-request callable (the same for every route)."""
        del route, config
        require("opentelemetry.trace", "tracing")

        async def trace_request(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            name = f"{context.method} {context.route_path}"
            existing = server_span_in_progress()
            if existing is not None:
                existing.update_name(name)
                existing.set_attribute("http.route", context.route_path)
                return await call_next(context)
            if tracer() is None:  # nothing configured: no span, the ids pass through
                return await call_next(context)
            attributes = request_attributes(context)
            parent = _trace_headers(context)
            with start_span(name, "SERVER", attributes, parent=parent) as span:
                response = await call_next(context)
                span.set_attribute("http.response.status_code", response.status_code)
                if response.status_code >= 500:
                    set_error(span, str(response.status_code))
                return response

        return trace_request

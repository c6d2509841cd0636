"""`CorrelationIdInterceptor`: one id per request, read or generated, echoed, and in context.

Router-wide: put it first in ``HttpRouterConfig(interceptors=...)`` so every other
interceptor, the handler and every log line of the request see the id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from mic import context as mic_context
from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Interceptor,
    RouteInterceptor,
)
from mic.observability._context import parse_traceparent

DEFAULT_HEADERS: Final = ("X-Request-ID", "X-Correlation-ID")
# Ids end up in log lines and response headers: a conservative charset keeps out log
# injection (line breaks, quotes) and header splitting, and still admits UUIDs, ULIDs,
# and AWS/GCP-style ids (`Root=1-5759e988-bd862e3fe1be46a994272793`).
_ID_CHARSET: Final = re.compile(r"[A-Za-z0-9._:=+/@-]+")


# W3C Trace Context section 3.3: at most 32 list members, and never a line break (header
# splitting); a longer or broken value is dropped rather than truncated mid-member.
_MAX_TRACESTATE: Final = 512


def _tracestate(values: list[str]) -> str | None:
    """The ``tracestate`` list (several header lines joined), or ``None`` when unusable."""
    joined = ",".join(value.strip() for value in values if value.strip())
    if not joined or len(joined) > _MAX_TRACESTATE or not joined.isprintable():
        return None
    return joined


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class CorrelationIdInterceptor(RouteInterceptor):
    """Read, validate or generate the request's correlation id; echo it; honour ``traceparent``.

    For each request, the first of `header_names` that carries a valid id (at most
    `max_length` characters from ``A-Z a-z 0-9 . _ : = + / @ -``) is used; otherwise a
    new id is generated. The id is set on ``context.correlation_id`` and in
    ``mic.context.correlation_id`` (so logs, the service client and events carry it) and
    sent back in the response under the header it arrived in (the first name when
    generated). A valid W3C ``traceparent`` goes into ``mic.context.traceparent``; an
    invalid one is ignored; the ``tracestate`` sent with a valid one goes into
    ``mic.context.tracestate``. The matched route template goes into ``mic.context.route``.
    All context variables are reset when the request ends.

    Attributes:
        header_names: Request headers to read, in order of preference.
        max_length: Longest accepted id.
        generate: Makes a new id (a random UUID in hex by default).
    """

    header_names: tuple[str, ...] = DEFAULT_HEADERS
    max_length: int = 128
    generate: Callable[[], str] = _new_id

    def __post_init__(self) -> None:
        if not self.header_names:
            raise ValueError("header_names must name at least one header")
        if not 1 <= self.max_length <= 1024:
            raise ValueError("max_length must be between 1 and 1024")

    def accepts(self, candidate: str) -> bool:
        """Whether `candidate` is a valid correlation id."""
        return len(candidate) <= self.max_length and _ID_CHARSET.fullmatch(candidate) is not None

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """The per-request callable (the same for every route)."""
        del route, config
        names = self.header_names
        accepts = self.accepts
        generate = self.generate

        async def correlate(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            headers = context.headers
            chosen, header = None, names[0]
            for name in names:
                candidate = headers.get(name)
                if candidate is not None and accepts(candidate):
                    chosen, header = candidate, name
                    break
            correlation_id = chosen if chosen is not None else generate()
            context.correlation_id = correlation_id
            raw_parent = headers.get("traceparent")
            parent = raw_parent if raw_parent and parse_traceparent(raw_parent) else None
            # Vendor data belongs to the trace it came with: kept only beside a valid parent.
            state = _tracestate(headers.getall("tracestate")) if parent else None
            id_token = mic_context.correlation_id.set(correlation_id)
            parent_token = mic_context.traceparent.set(parent)
            state_token = mic_context.tracestate.set(state)
            route_token = mic_context.route.set(context.route_path or None)
            try:
                response = await call_next(context)
            finally:
                mic_context.route.reset(route_token)
                mic_context.tracestate.reset(state_token)
                mic_context.traceparent.reset(parent_token)
                mic_context.correlation_id.reset(id_token)
            response.set_header(header, correlation_id)
            return response

        return correlate

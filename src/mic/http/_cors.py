"""`CorsPolicy`: cross-origin access (the Fetch standard's CORS protocol) as a router policy.

Origins are matched exactly (scheme, host and port, never by suffix or pattern). A
preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered
by the policy itself, before authentication; an actual cross-origin request gets the
``Access-Control-*`` headers on its answer, errors included. A request from an origin that
is not allowed, or a preflight asking for a method or header that is not, is a 403 problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mic.http._interceptors import Interceptor, RouteInterceptor
from mic.http._render import HttpResponse
from mic.http._specs import HTTP_METHODS, HttpRouteSpec
from mic.model import ForbiddenError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mic.http._context import HttpRequestContext
    from mic.http._interceptors import Endpoint, HttpRouterConfig

# An origin as browsers serialize it: scheme "://" host [":" port], lower-case, no path.
_ORIGIN = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:[0-9]{1,5})?")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Fetch standard, "CORS-safelisted request-header": always allowed in a preflight.
_SAFELISTED = frozenset({"accept", "accept-language", "content-language", "content-type"})
_SIMPLE_METHODS = frozenset({"GET", "HEAD", "POST"})


def _names(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"{what} must be a tuple of strings, not one string")
    for value in values:
        if not isinstance(value, str) or not _TOKEN.fullmatch(value):
            raise ValueError(f"{what}: {value!r} is not a valid header or method name")
    return tuple(values)


@dataclass(frozen=True, slots=True)
class CorsPolicy(RouteInterceptor):
    """Which other origins may call this router from a browser, and how.

    Attributes:
        allow_origins: Exact origins (``"https://app.example.com"``), or ``("*",)`` for any
            origin (only without credentials). ``"null"`` is refused: sandboxed documents and
            local files share it.
        allow_methods: Methods a preflight may ask for.
        allow_headers: Request headers a preflight may ask for, beyond the safelisted ones.
        expose_headers: Response headers the calling script may read.
        allow_credentials: Whether cookies and HTTP auth may be sent
            (``Access-Control-Allow-Credentials: true``).
        max_age: Seconds a browser may cache a preflight answer (``None``: its default).

    Raises:
        ValueError: A malformed origin or name, ``"*"`` with credentials, or a bad max-age.
    """

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = 600
    _origins: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        origins = _names_or_origins(self.allow_origins)
        if "*" in origins and self.allow_credentials:
            raise ValueError("allow_origins='*' cannot be combined with allow_credentials")
        methods = tuple(m.upper() for m in _names(self.allow_methods, "allow_methods"))
        if unknown := sorted(set(methods) - HTTP_METHODS):
            raise ValueError(f"allow_methods: unknown method(s) {unknown}")
        _names(self.allow_headers, "allow_headers")
        _names(self.expose_headers, "expose_headers")
        if self.max_age is not None and (type(self.max_age) is not int or self.max_age < 0):
            raise ValueError("max_age must be a whole number of seconds >= 0, or None")
        object.__setattr__(self, "allow_origins", origins)
        object.__setattr__(self, "allow_methods", methods)
        object.__setattr__(self, "_origins", frozenset(origins))

    @property
    def any_origin(self) -> bool:
        """Whether every origin is allowed (``"*"``)."""
        return "*" in self._origins

    def allows_origin(self, origin: str) -> bool:
        """Whether `origin` (as the browser sent it) is allowed; exact comparison."""
        return self.any_origin or origin in self._origins

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """Render the fixed headers once; return the request logic."""
        return _Cors(self).handle

    def openapi_errors(self) -> Mapping[int, str]:
        """403 for an origin, method or header that is not allowed."""
        return {403: "Cross-origin request not allowed (CORS)"}


def _names_or_origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(origins, str):
        raise TypeError("allow_origins must be a tuple of origins, not one string")
    if not origins:
        raise ValueError("allow_origins must name at least one origin (or '*')")
    for origin in origins:
        if origin == "*":
            continue
        if origin == "null":
            raise ValueError("the 'null' origin is shared by sandboxed pages; it cannot be allowed")
        if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin):
            raise ValueError(
                f"allow_origins: {origin!r} is not an origin like 'https://app.example.com' "
                "(lower-case scheme and host, optional port, no path)"
            )
    return tuple(origins)


def _own_origin(context: HttpRequestContext) -> str | None:
    host = context.headers.get("host")
    return None if host is None else f"{context.scheme}://{host.lower()}"


class _Cors:
    """The per-router request logic of a `CorsPolicy`, headers rendered once."""

    __slots__ = ("_allow_methods", "_max_age", "_simple", "_vary_preflight", "policy")

    def __init__(self, policy: CorsPolicy) -> None:
        self.policy = policy
        fixed: list[tuple[bytes, bytes]] = []
        if policy.allow_credentials:
            fixed.append((b"access-control-allow-credentials", b"true"))
        self._simple = list(fixed)
        if policy.expose_headers:
            exposed = ", ".join(policy.expose_headers).encode("latin-1")
            self._simple.append((b"access-control-expose-headers", exposed))
        self._allow_methods = ", ".join(policy.allow_methods).encode("latin-1")
        self._max_age = None if policy.max_age is None else str(policy.max_age).encode()
        self._vary_preflight = (
            b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        )

    def _allow_origin(self, origin: str) -> bytes:
        return b"*" if self.policy.any_origin else origin.encode("latin-1")

    async def handle(self, context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
        origins = context.headers.getall("origin")
        if not origins or (len(origins) == 1 and origins[0] == _own_origin(context)):
            response = await call_next(context)
            if self.policy.any_origin:
                return response
            return _with_headers(response, [], vary=b"Origin")  # caches must tell origins apart
        origin = origins[0]
        if len(origins) > 1 or not self.policy.allows_origin(origin):
            raise ForbiddenError("cors_origin_not_allowed", "This origin may not call this API")
        if context.method == "OPTIONS" and "access-control-request-method" in context.headers:
            return self._preflight(context, origin)
        response = await call_next(context)
        added = [(b"access-control-allow-origin", self._allow_origin(origin)), *self._simple]
        return _with_headers(response, added, vary=None if self.policy.any_origin else b"Origin")

    def _preflight(self, context: HttpRequestContext, origin: str) -> HttpResponse:
        method = context.headers.get("access-control-request-method", "").strip()
        if method not in self.policy.allow_methods and method not in _SIMPLE_METHODS:
            raise ForbiddenError(
                "cors_method_not_allowed", "This method may not be used cross-origin"
            )
        requested = [
            name.strip().lower()
            for value in context.headers.getall("access-control-request-headers")
            for name in value.split(",")
            if name.strip()
        ]
        allowed = {h.lower() for h in self.policy.allow_headers} | _SAFELISTED
        if any(name not in allowed for name in requested):
            raise ForbiddenError(
                "cors_header_not_allowed", "A requested header may not be sent cross-origin"
            )
        headers = [
            (b"access-control-allow-origin", self._allow_origin(origin)),
            (b"access-control-allow-methods", self._allow_methods),
        ]
        if requested:
            headers.append((b"access-control-allow-headers", ", ".join(requested).encode()))
        if self._max_age is not None:
            headers.append((b"access-control-max-age", self._max_age))
        if self.policy.allow_credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        headers.append((b"vary", self._vary_preflight))
        return HttpResponse(204, headers, b"")


def _with_headers(
    response: HttpResponse, added: list[tuple[bytes, bytes]], vary: bytes | None
) -> HttpResponse:
    """A copy of `response` with `added` headers and `vary` merged into ``Vary``.

    Never modifies `response`: the core may hand the same precomputed answer (an OPTIONS
    or 405) to every request.
    """
    headers = list(response.headers)
    if vary is not None:
        for index, (key, value) in enumerate(headers):
            if key == b"vary":
                if vary.lower() not in value.lower() and value.strip() != b"*":
                    headers[index] = (key, value + b", " + vary)
                break
        else:
            headers.append((b"vary", vary))
    headers.extend(added)
    return HttpResponse(response.status_code, headers, response.body)

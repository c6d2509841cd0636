"""`ResponseCache`: the GET/HEAD route policy that serves rendered answers from a store.

The key is a SHA-256 of the route, path, query, the `vary` request headers and, unless the
policy says the answer is `shared`, the caller's identity: one caller never receives
another's answer. Concurrent misses on one key run the handler once (single flight).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Interceptor,
    RouteInterceptor,
    RouteSpecError,
)
from mic.response_cache._etag import none_match, parse_if_none_match, strong_etag
from mic.response_cache._store import CachedResponse, ResponseCacheStore, path_tag

logger = logging.getLogger("mic.response_cache")

_HEADER_NAME = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")
# The policy owns these on every answer it serves.
_POLICY_HEADERS = frozenset({b"etag", b"cache-control", b"vary"})
# Headers a 304 repeats from the 200 it stands for (RFC 9110 section 15.4.5).
_NOT_MODIFIED_HEADERS = (b"etag", b"cache-control", b"vary", b"content-location", b"expires")


@dataclass(slots=True)
class ResponseCacheStats:
    """What one `ResponseCache` policy did since it was created.

    Attributes:
        hits: Answers served from the store.
        misses: Handler calls made because the store had nothing.
        coalesced: Requests that waited for a concurrent identical miss instead of calling
            the handler (single flight).
        not_modified: 304 answers.
    """

    hits: int = 0
    misses: int = 0
    coalesced: int = 0
    not_modified: int = 0


def _check_names(names: tuple[str, ...], what: str) -> tuple[str, ...]:
    if isinstance(names, str):
        raise TypeError(f"{what} must be a tuple of strings, not one string")
    for name in names:
        if not name or not set(name.lower()) <= _HEADER_NAME:
            raise ValueError(f"{what}: {name!r} is not a header name")
    return tuple(n.lower() for n in names)


class ResponseCache(RouteInterceptor):
    """Cache a GET route's 200 answers, with a strong ETag and ``304 Not Modified``.

    Args:
        ttl: Seconds an answer stays in the store.
        max_age: Seconds clients and proxies may reuse it without asking (``0``: they
            revalidate every time, cheaply, with ``If-None-Match``).
        shared: Whether one cached answer may serve every caller of an authenticated route.
            Off by default: the caller's identity is then part of the key and the answer is
            ``Cache-Control: private``.
        vary: Request headers that select the representation (``Accept-Language``...): part
            of the key, and sent back in ``Vary``.
        tags: Invalidation tags, templates over the path parameters (``"item:{item_id}"``).
        cache_control: Overrides the ``Cache-Control`` this policy computes.

    Raises:
        ValueError: A non-positive `ttl`, a negative `max_age`, bad header names, or an
            override that says ``public`` without `shared` (it could leak answers).

    The store comes from ``HttpRouterConfig(services={ResponseCacheStore: store})``.
    Answers that set a cookie, or whose handler said ``no-store`` or ``private``, are
    passed through and never stored.
    """

    def __init__(
        self,
        *,
        ttl: float = 60.0,
        max_age: int = 0,
        shared: bool = False,
        vary: tuple[str, ...] = (),
        tags: tuple[str, ...] = (),
        cache_control: str | None = None,
    ) -> None:
        if not 0 < ttl <= 10**9:
            raise ValueError(f"ttl must be > 0 seconds, got {ttl!r}")
        if type(max_age) is not int or max_age < 0:
            raise ValueError(f"max_age must be a whole number of seconds >= 0, got {max_age!r}")
        if cache_control is not None:
            if any(c in cache_control for c in "\r\n\0"):
                raise ValueError("cache_control contains a line break or NUL")
            if "public" in cache_control.lower() and not shared:
                raise ValueError("cache_control says public: set shared=True to mean it")
        if isinstance(tags, str):
            raise TypeError("tags must be a tuple of strings, not one string")
        self.ttl = ttl
        self.max_age = max_age
        self.shared = shared
        self.vary = _check_names(vary, "vary")
        self.tags = tuple(tags)
        self.cache_control = cache_control
        self.stats = ResponseCacheStats()
        self._flights: dict[str, asyncio.Future[CachedResponse | None]] = {}

    def __repr__(self) -> str:
        return f"ResponseCache(ttl={self.ttl!r}, shared={self.shared!r}, vary={self.vary!r})"

    def _control(self, private: bool) -> str:
        if self.cache_control is not None:
            return self.cache_control
        visibility = "private" if private else "public"
        if self.max_age == 0:
            return f"{visibility}, no-cache"
        return f"{visibility}, max-age={self.max_age}"

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """Check the route is GET-only and the store is configured; return the cache.

        Raises:
            RouteSpecError: A method other than GET/HEAD, no `ResponseCacheStore`, a tag
                naming an unknown path parameter, or the policy is not the route's last
                interceptor.
        """
        if set(route.methods) - {"GET", "HEAD"}:
            raise RouteSpecError(f"route {route.name!r}: ResponseCache only caches GET and HEAD")
        if route.interceptors[-1:] != (self,):
            # Innermost, so authorization and every other policy run before a cached answer
            # is served: a shared entry must never bypass an `Authorize` placed after it.
            raise RouteSpecError(
                f"route {route.name!r}: ResponseCache must be the last of the route's interceptors"
            )
        store = config.get(ResponseCacheStore)
        if store is None:
            raise RouteSpecError(
                f"route {route.name!r} has ResponseCache, but HttpRouterConfig.services has "
                "no ResponseCacheStore"
            )
        params = {p for _, p, _, _ in string.Formatter().parse(route.path) if p}
        for tag in self.tags:
            fields = {f for _, f, _, _ in string.Formatter().parse(tag) if f is not None}
            if missing := sorted(fields - params):
                raise RouteSpecError(
                    f"route {route.name!r}: tag {tag!r} uses {missing}, not path parameters"
                )
        return _Cache(self, store, route.name).handle

    def openapi_errors(self) -> Mapping[int, str]:
        """400 for a malformed ``If-None-Match`` (304 is not a problem answer)."""
        return {400: "Malformed If-None-Match"}


def _is_storable(response: HttpResponse, shared: bool) -> bool:
    if response.status_code != 200 or response.header("set-cookie") is not None:
        return False
    control = (response.header("cache-control") or "").lower()
    return "no-store" not in control and not (shared and "private" in control)


class _Cache:
    """The per-route request logic of a `ResponseCache` (kept apart from the spec)."""

    __slots__ = ("_route", "_vary_header", "policy", "store")

    def __init__(self, policy: ResponseCache, store: ResponseCacheStore, route: str) -> None:
        self.policy = policy
        self.store = store
        self._route = route
        self._vary_header = ", ".join(policy.vary).encode("latin-1") if policy.vary else None

    def _key(self, context: HttpRequestContext) -> tuple[str, bool]:
        identity = context.identity
        private = identity is not None and not self.policy.shared
        parts: list[Any] = [self._route, context.path, context.query_string.decode("latin-1")]
        parts.extend(context.headers.getall(name) for name in self.policy.vary)
        if private and identity is not None:
            parts.append([identity.kind, identity.issuer, identity.subject])
        digest = hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()
        return digest, private

    def _headers(self, cached: CachedResponse, private: bool) -> list[tuple[bytes, bytes]]:
        headers = list(cached.headers)
        headers.append((b"etag", cached.etag.encode("ascii")))
        headers.append((b"cache-control", self.policy._control(private).encode("latin-1")))
        if self._vary_header is not None:
            headers.append((b"vary", self._vary_header))
        return headers

    def _answer(
        self, cached: CachedResponse, private: bool, condition: frozenset[str] | None
    ) -> HttpResponse:
        headers = self._headers(cached, private)
        if none_match(condition, cached.etag):
            self.policy.stats.not_modified += 1
            kept = [(k, v) for k, v in headers if k in _NOT_MODIFIED_HEADERS]
            return HttpResponse(304, kept, b"")
        return HttpResponse(cached.status_code, headers, cached.body)

    async def handle(self, context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
        values = context.headers.getall("if-none-match")
        condition = parse_if_none_match(values) if values else frozenset()
        key, private = self._key(context)
        stats = self.policy.stats
        try:
            cached = await self.store.get(key)
        except Exception as error:  # noqa: BLE001 - a cache that is down must not fail the route
            _bypass(self._route, "read", error)
            return await call_next(context)
        if cached is not None:
            stats.hits += 1
            return self._answer(cached, private, condition)
        flight = self.policy._flights.get(key)
        if flight is not None:
            stats.coalesced += 1
            try:
                shared = await asyncio.shield(flight)
            except asyncio.CancelledError:
                if not flight.cancelled():
                    raise
                shared = None  # the leader failed or went away: answer this one ourselves
            if shared is not None:
                return self._answer(shared, private, condition)
        return await self._lead(context, call_next, key, private, condition)

    async def _versions(self, context: HttpRequestContext) -> dict[str, str] | None:
        tags = [path_tag(context.path)]
        tags.extend(t.format_map(context.path_params) for t in self.policy.tags)
        try:
            # Read before the handler runs: an invalidation during the call then makes the
            # entry stale at once, instead of blessing an answer computed from old data.
            return await self.store.tag_versions(tags)
        except Exception as error:  # noqa: BLE001 - see handle()
            _bypass(self._route, "tag read", error)
            return None

    async def _lead(
        self,
        context: HttpRequestContext,
        call_next: Endpoint,
        key: str,
        private: bool,
        condition: frozenset[str] | None,
    ) -> HttpResponse:
        policy = self.policy
        flight: asyncio.Future[CachedResponse | None] = asyncio.get_running_loop().create_future()
        owns_flight = key not in policy._flights
        if owns_flight:
            policy._flights[key] = flight
        policy.stats.misses += 1
        try:
            versions = await self._versions(context)
            response = await call_next(context)
            if not _is_storable(response, policy.shared):
                flight.set_result(None)
                return response
            kept = tuple((k, v) for k, v in response.headers if k not in _POLICY_HEADERS)
            cached = CachedResponse(200, kept, response.body, strong_etag(response.body))
            flight.set_result(cached)
            if versions is not None:
                try:
                    await self.store.set(key, cached, versions, policy.ttl)
                except Exception as error:  # noqa: BLE001 - see handle()
                    _bypass(self._route, "write", error)
            return self._answer(cached, private, condition)
        finally:
            if not flight.done():
                flight.cancel()
            if owns_flight:
                del policy._flights[key]


def _bypass(route: str, what: str, error: Exception) -> None:
    logger.warning(
        "response cache %s failed on route %s (%s): serving uncached",
        what,
        route,
        type(error).__name__,
    )

"""`Idempotency`: the route policy enforcing ``Idempotency-Key`` (IETF draft
draft-ietf-httpapi-idempotency-key-header), identical on every adapter.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass

from mic._checks import check_duration
from mic._waiting import Poller
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
from mic.idempotency._store import IdempotencyStore, StoredResponse
from mic.model import ConflictError, DomainError, TransientError, ValidationFailedError

logger = logging.getLogger("mic.idempotency")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "idempotent-replayed"


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all(" " <= char <= "~" for char in key)


def is_replayable(status_code: int) -> bool:
    """Whether a response is stored for replay: successes and redirects only.

    An error (4xx or 5xx) releases the key instead, so the client may retry with the same
    key, with a corrected body if it was invalid (ADR 0022).
    """
    return 200 <= status_code < 400


@dataclass(frozen=True, slots=True)
class Idempotency(RouteInterceptor):
    """Make a route safe to retry: one ``Idempotency-Key`` runs the handler at most once.

    The first request with a key runs; a duplicate that arrives while it runs waits up to
    `wait` seconds for its answer, then gets 409; a duplicate after it finished gets the
    stored status, headers and body again (with ``Idempotent-Replayed: true``); the same key
    with a different method, path, query or body is a 422. Keys are scoped to the caller
    (`context.identity`) and the route. Only 2xx/3xx answers are stored.

    Attributes:
        ttl: Seconds a completed answer is replayed.
        wait: Seconds a duplicate waits for an in-flight request before the 409.
        lease: Seconds an in-flight claim lasts; a crashed worker frees the key after it.
            Keep it above the route's slowest response time.
        store: The store; when ``None``, the router's ``services[IdempotencyStore]``.
        required: Whether a request without the header is refused (400).
        header: Name of the request header.
        poll_interval: Seconds between checks while waiting.
    """

    ttl: float = 24 * 3600
    wait: float = 0.0
    lease: float = 60.0
    store: IdempotencyStore | None = None
    required: bool = False
    header: str = "Idempotency-Key"
    poll_interval: float = 0.05

    def __post_init__(self) -> None:
        for name in ("ttl", "lease", "poll_interval"):
            check_duration(name, getattr(self, name))
        check_duration("wait", self.wait, allow_zero=True)
        if not self.header:
            raise ValueError("header must not be empty")

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """Find the store (fail closed) and return the per-request callable.

        Raises:
            RouteSpecError: No store is configured, or the route only serves safe methods.
        """
        store = self.store if self.store is not None else config.get(IdempotencyStore)
        if store is None:
            raise RouteSpecError(
                f"route {route.name!r}: Idempotency needs a store: pass store= or register "
                "HttpRouterConfig(services={IdempotencyStore: ...})"
            )
        if set(route.methods) <= _SAFE_METHODS:
            raise RouteSpecError(
                f"route {route.name!r}: Idempotency-Key only makes sense on unsafe methods"
            )
        return _Guard(self, store, route.name).intercept

    def openapi_errors(self) -> Mapping[int, str]:
        """The answers this policy adds to the route's documentation."""
        return {
            400: f"The {self.header} header is missing or invalid",
            409: f"A request with this {self.header} is still being processed",
            422: f"This {self.header} was already used with a different request",
            503: "The idempotency store is unavailable; retry later",
        }


class _Guard:
    """The per-route state of an `Idempotency` policy."""

    def __init__(self, policy: Idempotency, store: IdempotencyStore, route_name: str) -> None:
        self.policy = policy
        self.store = store
        self.route_name = route_name

    def _storage_key(self, context: HttpRequestContext, key: str) -> str:
        identity = context.identity
        caller = "" if identity is None else f"{identity.kind}|{identity.issuer}|{identity.subject}"
        material = "\0".join((caller, self.route_name, key)).encode()
        return hashlib.sha256(material).hexdigest()

    @staticmethod
    def _fingerprint(context: HttpRequestContext, body: bytes) -> str:
        query = context.query_params
        request = [context.method, context.path, [(k, query.getall(k)) for k in sorted(query)]]
        digest = hashlib.sha256(json.dumps(request).encode())
        digest.update(b"\0")
        digest.update(body)
        return digest.hexdigest()

    async def intercept(self, context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
        """Run, wait, replay or refuse, as the key's record says."""
        key = context.headers.get(self.policy.header)
        if key is None:
            if self.policy.required:
                raise DomainError("idempotency_key_missing",
                                  f"this request needs an {self.policy.header} header")  # fmt: skip
            return await call_next(context)
        if not _valid_key(key):
            raise DomainError(
                "invalid_idempotency_key",
                f"{self.policy.header} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
            )
        storage_key = self._storage_key(context, key)
        fingerprint = self._fingerprint(context, await context.body())
        owner = secrets.token_hex(16)
        existing = await self._claim(storage_key, fingerprint, owner)
        if existing is not None:
            return existing
        try:
            response = await call_next(context)
        except BaseException:
            await asyncio.shield(self._settle(self.store.release(storage_key, owner)))
            raise
        if is_replayable(response.status_code):
            stored = StoredResponse(
                response.status_code,
                tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers),
                response.body,
            )
            settle: Awaitable[object] = self.store.complete(
                storage_key, owner, stored, ttl=self.policy.ttl
            )
        else:
            settle = self.store.release(storage_key, owner)
        # Shielded: the handler's work is done, so a cancellation now (client gone, server
        # shutting down) must not leave the key claimed until its lease ends, after which a
        # retry would run the handler a second time.
        await asyncio.shield(self._settle(settle))
        return response

    async def _settle(self, outcome: Awaitable[object]) -> None:
        """Record a finished request; a store failure is logged, never turned into an error.

        The handler has run: its answer goes back to the client even if the store is down
        (the claim then ends with its lease).
        """
        try:
            await outcome
        except Exception:
            logger.warning("idempotency store failed to record route %s", self.route_name,
                           exc_info=True)  # fmt: skip

    async def _claim(self, storage_key: str, fingerprint: str, owner: str) -> HttpResponse | None:
        """``None`` once we own the key; else the answer for a duplicate."""
        policy = self.policy
        poller = Poller(interval=policy.poll_interval, budget=policy.wait)
        while True:
            try:
                record = await self.store.begin(storage_key, fingerprint, owner, lease=policy.lease)
            except DomainError:
                raise
            except Exception as error:
                # Without the store, running the handler could run it twice: fail closed.
                logger.warning("idempotency store unavailable for route %s", self.route_name,
                               exc_info=True)  # fmt: skip
                raise TransientError(
                    "idempotency_store_unavailable",
                    "idempotency keys cannot be checked right now; retry later",
                    retry_after=1,
                ) from error
            if record is None:
                return None
            if record.fingerprint != fingerprint:
                raise ValidationFailedError(
                    "idempotency_key_reused",
                    f"this {policy.header} was already used with a different request",
                )
            if record.response is not None:
                return _replay(record.response)
            if not await poller.wait():
                raise ConflictError(
                    "idempotency_request_in_progress",
                    f"a request with this {policy.header} is still being processed",
                    retry_after=1,
                )


def _replay(stored: StoredResponse) -> HttpResponse:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    response = HttpResponse(stored.status_code, headers, stored.body)
    response.set_header(REPLAYED_HEADER, "true")
    return response

"""`ServiceHttpClient`: one pooled httpx client per target service, signed and resilient.

Each request carries a cached service token for the target's audience, the current
correlation id and ``traceparent``; safe requests are retried with jittered backoff under a
total deadline, through an optional circuit breaker; error answers become `DomainError`s.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mic import context as mic_context
from mic._deps import require
from mic.client._errors import error_from_response, retry_after_seconds
from mic.client._retry import IDEMPOTENT_METHODS, CircuitBreakerLike, RetryPolicy
from mic.client._typed import PreparedRoute
from mic.model import DomainError, TransientError

if TYPE_CHECKING:
    import httpx

    from mic.auth import ServiceAuthSigner
    from mic.http import HttpRouteSpec

DEFAULT_TIMEOUT = 10.0


class _TokenCache:
    """One signed token per client, reused until `margin` seconds before it expires."""

    def __init__(self, signer: ServiceAuthSigner, audience: str, scopes: tuple[str, ...]) -> None:
        self.signer, self.audience, self.scopes = signer, audience, scopes
        self.margin = min(30.0, signer.lifetime / 2)
        self._token: str | None = None
        self._renew_at = 0.0

    def token(self) -> str:
        now = time.monotonic()
        if self._token is None or now >= self._renew_at:
            self._token = self.signer.sign(self.audience, scopes=self.scopes)
            self._renew_at = now + self.signer.lifetime - self.margin
        return self._token


def propagation_headers() -> dict[str, str]:
    """``X-Request-ID`` and ``traceparent`` from the current context, when set."""
    headers: dict[str, str] = {}
    if (correlation := mic_context.correlation_id.get()) is not None:
        headers["x-request-id"] = correlation
    if (parent := mic_context.traceparent.get()) is not None:
        headers["traceparent"] = parent
    return headers


class ServiceHttpClient:
    """An async client for one target service.

    Args:
        base_url: The target's base URL (``http://billing:8000``).
        signer: Signs a token for `audience` on every request (cached until shortly
            before it expires); ``None`` sends no ``Authorization``.
        audience: The target service's name, as its verifier expects it.
        scopes: Scopes to ask for in the token.
        timeout: Seconds for each attempt (or an ``httpx.Timeout``); never unbounded.
        retry: When to retry; ``RetryPolicy(attempts=1)`` disables retries.
        breaker: An optional circuit breaker for this target (see `CircuitBreakerLike`).
        headers: Headers sent with every request.
        transport: An httpx transport (``httpx.MockTransport`` in tests).
        limits: Connection pool limits.

    Raises:
        MissingDependencyError: httpx is not installed (extra ``client``).
        ValueError: A signer without an audience, or a non-positive timeout.

    Use it as ``async with ServiceHttpClient(...) as client`` or call `aclose`. One instance
    is meant to be shared by every request to the target (the pool lives in it).
    """

    def __init__(
        self,
        base_url: str,
        *,
        signer: ServiceAuthSigner | None = None,
        audience: str | None = None,
        scopes: Iterable[str] = (),
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreakerLike | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        httpx_module: Any = require("httpx", "client")
        if signer is not None and not audience:
            raise ValueError("a signer needs the target service's audience")
        if isinstance(timeout, int | float) and timeout <= 0:
            raise ValueError("timeout must be > 0 seconds")
        self._httpx = httpx_module
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        self.breaker = breaker
        self._tokens = (
            None if signer is None or not audience
            else _TokenCache(signer, audience, tuple(sorted(scopes)))
        )  # fmt: skip
        self._http: httpx.AsyncClient = httpx_module.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            headers=dict(headers or {}),
            transport=transport,
            limits=limits or httpx_module.Limits(max_connections=100),
        )
        self._routes: dict[int, PreparedRoute] = {}
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography

    async def __aenter__(self) -> ServiceHttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send one request (retried when safe); return a 1xx-3xx answer.

        Raises:
            DomainError: The target answered >= 400: the matching subclass, with the
                problem's ``code``, ``detail`` (as message) and ``details``.
            TransientError: The target could not be reached, timed out, or answered
                502/503/504, and retries (if any) ran out or the deadline passed.
        """
        method = method.upper()
        merged = {**propagation_headers(), **{k.lower(): v for k, v in (headers or {}).items()}}
        if idempotency_key is not None:
            merged["idempotency-key"] = idempotency_key
        safe = method in IDEMPOTENT_METHODS or "idempotency-key" in merged
        arguments: dict[str, Any] = {"params": params, "headers": merged}
        if json is not None:
            arguments["json"] = json
        elif content is not None:
            arguments["content"] = content
        response = await self._send(method, url, arguments, safe=safe)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    async def get(self, url: str, **options: Any) -> httpx.Response:
        """`request` with GET."""
        return await self.request("GET", url, **options)

    async def post(self, url: str, **options: Any) -> httpx.Response:
        """`request` with POST."""
        return await self.request("POST", url, **options)

    async def put(self, url: str, **options: Any) -> httpx.Response:
        """`request` with PUT."""
        return await self.request("PUT", url, **options)

    async def patch(self, url: str, **options: Any) -> httpx.Response:
        """`request` with PATCH."""
        return await self.request("PATCH", url, **options)

    async def delete(self, url: str, **options: Any) -> httpx.Response:
        """`request` with DELETE."""
        return await self.request("DELETE", url, **options)

    async def call(
        self,
        route: HttpRouteSpec,
        /,
        *,
        payload: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        **values: Any,
    ) -> Any:
        """Call `route` of the target service, typed by the route's own contract.

        `values` are the handler's path, query, header and cookie parameters by their Python
        names; `payload` is the body (a model instance or anything that validates into the
        handler's body model). The answer is parsed into ``route.response_model``.

        Raises:
            TypeError: An unknown parameter, or a payload for a route without a body.
            ValidationFailedError: Values or payload do not fit the contract (nothing sent).
            UpstreamServiceError: The answer does not fit ``route.response_model``.
            DomainError: As `request`.
        """
        prepared = self._routes.get(id(route))
        if prepared is None or prepared.route is not route:
            prepared = self._routes[id(route)] = PreparedRoute(route)
        path, query, route_headers, body = prepared.build(values, payload)
        if body is not None:
            route_headers["content-type"] = "application/json"
        response = await self.request(
            prepared.method, path, params=query or None, content=body,
            headers={**route_headers, **(headers or {})}, idempotency_key=idempotency_key,
        )  # fmt: skip
        return prepared.parse(response.content)

    async def _send(
        self, method: str, url: str, arguments: dict[str, Any], *, safe: bool
    ) -> httpx.Response:
        policy = self.retry
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.deadline
        retry = 0
        while True:
            if self._tokens is not None:
                arguments["headers"]["authorization"] = "Bearer " + self._tokens.token()
            attempt = await self._attempt(method, url, arguments, deadline - loop.time())
            outcome = attempt.outcome
            if isinstance(outcome, DomainError):
                retry_after = outcome.retry_after
            else:
                retry_after = retry_after_seconds(outcome.headers.get("retry-after"))
            # No status: the connection failed or timed out, which is always worth a retry.
            worth_it = attempt.status is None or attempt.status in policy.retry_statuses
            retry += 1
            wait = max(policy.delay(retry, self._rng), retry_after or 0.0)
            if (
                not worth_it
                or not (safe or attempt.unsent)
                or retry >= policy.attempts
                or loop.time() + wait >= deadline
            ):
                if isinstance(outcome, DomainError):
                    raise outcome
                return outcome
            await asyncio.sleep(wait)

    async def _attempt(
        self, method: str, url: str, arguments: dict[str, Any], time_left: float
    ) -> _Attempt:
        httpx_module = self._httpx
        attempt = _Attempt()

        async def operation() -> httpx.Response:
            attempt.started = True
            try:
                async with asyncio.timeout(max(time_left, 0.0)):
                    response: httpx.Response = await self._http.request(method, url, **arguments)
            except (TimeoutError, httpx_module.TimeoutException) as exc:
                attempt.unsent = isinstance(
                    exc, httpx_module.ConnectTimeout | httpx_module.PoolTimeout
                )
                raise TransientError("upstream_timeout", f"{method} {url} timed out") from exc
            except httpx_module.TransportError as exc:
                attempt.unsent = isinstance(exc, httpx_module.ConnectError)
                raise TransientError(
                    "upstream_unavailable", f"{method} {url} failed: {type(exc).__name__}"
                ) from exc
            attempt.status = response.status_code
            if response.status_code >= 500:
                # Raised inside the breaker's call so that it counts as a failure.
                raise error_from_response(response)
            return response

        try:
            if self.breaker is None:
                attempt.outcome = await operation()
            else:
                attempt.outcome = await self.breaker.call(operation)
        except DomainError as error:
            if not attempt.started:
                raise
            attempt.outcome = error
        except Exception as exc:
            if attempt.started:
                raise
            raise TransientError("circuit_open", f"The circuit to {self.base_url} is open") from exc
        return attempt


class _Attempt:
    """The result of one attempt.

    Attributes:
        started: Whether the breaker let the attempt run.
        unsent: Whether the request surely never reached the server (connect failure).
        status: The answer's status; ``None`` when there was no answer.
        outcome: The answer (< 500) or the error.
    """

    __slots__ = ("outcome", "started", "status", "unsent")

    def __init__(self) -> None:
        self.started = False
        self.unsent = False
        self.status: int | None = None
        self.outcome: httpx.Response | DomainError = TransientError()

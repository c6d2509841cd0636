"""`ServiceHttpClient`: one pooled httpx client per target service, signed and resilient.

Each request carries a cached service token for the target's audience, the current
correlation id and ``traceparent``. Safe requests are retried by `mic.resilience.Retry` (the
client adds its HTTP rules as the policy's ``retry_if``), each attempt through an optional
`mic.resilience.CircuitBreaker`; error answers become `DomainError`s.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from mic import context as mic_context
from mic._checks import check_duration
from mic._deps import require
from mic.auth._signer import check_scopes
from mic.client._errors import error_from_response
from mic.client._retry import DEFAULT_RETRY_POLICY, HttpAttemptRule, is_safe_to_repeat
from mic.client._typed import PreparedRoute
from mic.model import TransientError
from mic.resilience import Retry, RetryPolicy

if TYPE_CHECKING:
    import httpx

    from mic.auth import ServiceAuthSigner
    from mic.http import HttpRouteSpec
    from mic.resilience import CircuitBreaker

DEFAULT_TIMEOUT = 10.0


class _TokenCache:
    """One signed token per client, reused until `margin` seconds before it expires.

    `token` never awaits, so concurrent requests on the loop share one signature.
    """

    def __init__(self, signer: ServiceAuthSigner, audience: str, scopes: tuple[str, ...]) -> None:
        self.signer, self.audience, self.scopes = signer, audience, scopes
        self.margin = min(30.0, signer.lifetime / 2)
        self._token: str | None = None
        self._renew_at = 0.0

    def token(self) -> str:
        now = time.monotonic()
        if self._token is None or now >= self._renew_at:
            self._token = self.signer.sign(self.audience, scopes=self.scopes)
            self._renew_at = now + self._guaranteed_life - self.margin
        return self._token

    @property
    def _guaranteed_life(self) -> float:
        # `iat` is a whole second and `exp` is `iat + ceil(lifetime)`: a token signed at x.99
        # lives almost a second less than `ceil(lifetime)`, never less than this.
        return float(math.ceil(self.signer.lifetime) - 1)


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
        retry: Attempts, backoff, ``Retry-After`` and total deadline, as a
            `mic.resilience.RetryPolicy` (default: `default_retry`);
            ``RetryPolicy(attempts=1)`` disables retries. Whatever the policy, only safe
            requests are repeated (see ADR 0013), and its ``retry_on`` / ``retry_if``
            can only narrow what is retried.
        breaker: An optional `mic.resilience.CircuitBreaker` for this target; every attempt
            runs through it. Connection failures, timeouts and 5xx answers raise inside it
            (all `TransientError`s, so the default ``counted_exceptions`` count them); 4xx
            answers never reach it as errors. When it is open the client raises its
            `CircuitOpenError` at once, without retrying.
        headers: Headers sent with every request.
        transport: An httpx transport (``httpx.MockTransport`` in tests).
        limits: Connection pool limits.

    Raises:
        MissingDependencyError: httpx is not installed (extra ``client``).
        ValueError: A signer without an audience, a non-positive timeout, or an invalid scope.
        TypeError: `scopes` is one string rather than an iterable of scopes.

    Use it as ``async with ServiceHttpClient(...) as client`` or call `aclose`. One instance
    is meant to be shared by every request to the target (the pool lives in it).
    """

    default_retry: ClassVar[RetryPolicy] = DEFAULT_RETRY_POLICY
    """The policy used when `retry` is not given: 3 attempts within 10 s in total."""

    def __init__(
        self,
        base_url: str,
        *,
        signer: ServiceAuthSigner | None = None,
        audience: str | None = None,
        scopes: Iterable[str] = (),
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        httpx_module: Any = require("httpx", "client")
        if signer is not None and not audience:
            raise ValueError("a signer needs the target service's audience")
        if isinstance(timeout, int | float):
            check_duration("timeout", timeout)
        self._httpx = httpx_module
        self.base_url = base_url
        self.retry = retry or self.default_retry
        self.breaker = breaker
        # Checked now, not at the first request (a string would be read letter by letter).
        checked_scopes = check_scopes(scopes)
        self._tokens = (
            None if signer is None or not audience
            else _TokenCache(signer, audience, checked_scopes)
        )  # fmt: skip
        self._http: httpx.AsyncClient = httpx_module.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            headers=dict(headers or {}),
            transport=transport,
            limits=limits or httpx_module.Limits(max_connections=100),
        )
        self._routes: dict[int, PreparedRoute] = {}

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
            ValueError: An empty `idempotency_key` (nothing was sent).
            DomainError: The target answered >= 400: the matching subclass, with the
                problem's ``code``, ``detail`` (as message) and ``details``.
            TransientError: The target could not be reached, timed out, or answered
                502/503/504, and retries (if any) ran out or the deadline passed.
            UpstreamServerError: The target answered another 5xx (not retried).
            CircuitOpenError: The breaker refused the attempt (nothing was sent).
        """
        method = method.upper()
        if idempotency_key is not None and not idempotency_key.strip():
            # An empty key would make a POST count as safe to repeat while the server,
            # finding no usable key, may run it twice.
            raise ValueError("idempotency_key must not be empty")
        merged = {**propagation_headers(), **{k.lower(): v for k, v in (headers or {}).items()}}
        if idempotency_key is not None:
            merged["idempotency-key"] = idempotency_key
        safe = is_safe_to_repeat(method, merged)
        arguments: dict[str, Any] = {"params": params, "headers": merged}
        if json is not None:
            arguments["json"] = json
        elif content is not None:
            arguments["content"] = content
        return await self._send(method, url, arguments, safe=safe)

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
        rule = HttpAttemptRule(safe=safe)
        user_rule = policy.retry_if

        def retryable(error: BaseException) -> bool:
            return rule(error) and (user_rule is None or user_rule(error))

        loop = asyncio.get_running_loop()
        # One clock for the retry's deadline and for each attempt's share of it.
        runner = Retry(dataclasses.replace(policy, retry_if=retryable), clock=loop.time)
        deadline = None if policy.deadline is None else loop.time() + policy.deadline

        async def attempt() -> httpx.Response:
            rule.begin()
            if self._tokens is not None:
                arguments["headers"]["authorization"] = "Bearer " + self._tokens.token()
            time_left = None if deadline is None else max(0.0, deadline - loop.time())
            exchange = self._exchange(method, url, arguments, rule, time_left)
            if self.breaker is None:
                response = await exchange()
            else:
                response = await self.breaker.call(exchange)
            if response.status_code >= 400:
                # After the breaker: a 4xx is the target answering, never a failure of it.
                raise error_from_response(response)
            return response

        return await runner.call(attempt)

    def _exchange(
        self,
        method: str,
        url: str,
        arguments: dict[str, Any],
        rule: HttpAttemptRule,
        time_left: float | None,
    ) -> Callable[[], Awaitable[httpx.Response]]:
        """One HTTP exchange, raising a `TransientError` for every failure of the target."""
        httpx_module = self._httpx

        async def exchange() -> httpx.Response:
            rule.started = True
            try:
                async with asyncio.timeout(time_left):
                    response: httpx.Response = await self._http.request(method, url, **arguments)
            except (TimeoutError, httpx_module.TimeoutException) as exc:
                rule.unsent = isinstance(
                    exc, httpx_module.ConnectTimeout | httpx_module.PoolTimeout
                )
                raise TransientError("upstream_timeout", f"{method} {url} timed out") from exc
            except httpx_module.TransportError as exc:
                rule.unsent = isinstance(exc, httpx_module.ConnectError)
                raise TransientError(
                    "upstream_unavailable", f"{method} {url} failed: {type(exc).__name__}"
                ) from exc
            rule.status = response.status_code
            if response.status_code >= 500:
                # Raised inside the breaker's call so that it counts as a failure: 502/503/504
                # are `TransientError`, any other 5xx an `UpstreamServerError` (also transient).
                raise error_from_response(response)
            return response

        return exchange

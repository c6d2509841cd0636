"""Route-level rate limits: the `RateLimit` interceptor, its key functions and client IPs.

A route declares ``HttpRouteSpec(rate_limit=RateLimit(limit=10, period=60, key=per_ip))``;
the limiter comes from ``HttpRouterConfig(services={RateLimiter: limiter})``. Answers carry
the ``RateLimit`` and ``RateLimit-Policy`` fields of draft-ietf-httpapi-ratelimit-headers-11
(structured field Lists of Items, RFC 9651); a refused request is a 429 problem with
``Retry-After``.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mic.http import (
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Interceptor,
    RouteInterceptor,
    RouteSpecError,
)
from mic.model import RateLimitedError
from mic.ratelimit._core import RateLimiter, RateLimitPolicy, Strategy, check_cost

if TYPE_CHECKING:
    from mic.http import Endpoint

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RateLimitKey = Callable[[HttpRequestContext, str], "str | None"]
"""A key function: ``(context, client_ip) -> key``; ``None`` leaves the request uncounted."""

_UNKNOWN_CLIENT = "unknown"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 section 5.6.2: a field name


def parse_ip(value: str) -> IpAddress | None:
    """Parse one address as proxies and servers write it, or ``None`` when it is not one.

    Accepts ``203.0.113.5``, ``203.0.113.5:4711``, ``2001:db8::1``, ``[2001:db8::1]`` and
    ``[2001:db8::1]:4711`` (some proxies append the client's port), and unwraps IPv4-mapped
    IPv6 addresses (``::ffff:203.0.113.5``, what a dual-stack socket reports for an IPv4
    peer) to the IPv4 address, so one client has one address whichever way it is written.
    """
    text = value.strip()
    if text.startswith("["):
        text, bracket, _ = text[1:].partition("]")
        if not bracket:
            return None
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """Which reverse proxies may tell us the client address, and in which header.

    Register it with ``HttpRouterConfig(services={TrustedProxies: TrustedProxies(...)})``.
    Without it the client IP is the socket peer, so a spoofed ``X-Forwarded-For`` changes
    nothing. With it, and only when the peer is a trusted proxy, the header is read right to
    left, skipping trusted proxies: the first untrusted address is the client (the leftmost
    entries are whatever the client sent and are never believed).

    Attributes:
        networks: Addresses or CIDR networks of the proxies (``"10.0.0.0/8"``, ``"::1"``).
        header: Header holding the forwarded chain (``X-Forwarded-For``; ``X-Real-IP`` works
            too, as a chain of one).
    """

    networks: tuple[str, ...]
    header: str = "x-forwarded-for"
    _parsed: tuple[IpNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.networks, str):
            raise TypeError("networks must be a tuple of addresses or networks, not a string")
        try:
            parsed = tuple(ipaddress.ip_network(n, strict=False) for n in self.networks)
        except ValueError as error:
            raise ValueError(f"invalid trusted proxy network: {error}") from None
        if not parsed:
            raise ValueError("networks must name at least one proxy")
        if not isinstance(self.header, str) or not _TOKEN.fullmatch(self.header):
            raise ValueError(f"header must be an HTTP field name, got {self.header!r}")
        object.__setattr__(self, "networks", tuple(self.networks))
        object.__setattr__(self, "_parsed", parsed)
        object.__setattr__(self, "header", self.header.lower())

    def is_trusted(self, address: str) -> bool:
        """Whether `address` is one of the trusted proxies (``False`` when not an IP)."""
        ip = parse_ip(address)
        return ip is not None and self._trusts(ip)

    def _trusts(self, ip: IpAddress) -> bool:
        return any(ip in network for network in self._parsed)

    def client_ip(self, context: HttpRequestContext) -> str | None:
        """The client address for `context`, believing only trusted proxies.

        Hops may carry ports or IPv6 brackets; the answer is the bare address.
        """
        peer = context.client_host
        if peer is None:
            return None
        client = parse_ip(peer)
        if client is None:
            return peer
        if not self._trusts(client):
            return str(client)
        hops = (hop for value in context.headers.getall(self.header) for hop in value.split(","))
        for hop in reversed(list(hops)):
            address = parse_ip(hop)
            if address is None:
                # A malformed hop: stop at the last address a trusted proxy vouched for.
                break
            client = address
            if not self._trusts(address):
                break
        return str(client)


@dataclass(frozen=True, slots=True)
class PerIp:
    """Key by client IP; IPv6 clients are grouped by network prefix.

    One IPv6 subscriber usually holds a whole /64 and can rotate through it freely, so
    limiting single IPv6 addresses would be easy to escape.

    Attributes:
        ipv6_prefix: Prefix length IPv6 addresses are grouped by (128 keeps them apart).
    """

    ipv6_prefix: int = 64

    def __post_init__(self) -> None:
        if type(self.ipv6_prefix) is not int or not 1 <= self.ipv6_prefix <= 128:
            raise ValueError("ipv6_prefix must be an integer between 1 and 128")

    def __call__(self, context: HttpRequestContext, client_ip: str) -> str:
        """``ip:<address>`` (``ip:<network>`` for IPv6; IPv4-mapped IPv6 as IPv4)."""
        address = parse_ip(client_ip)
        if address is None:
            return f"ip:{client_ip}"
        if address.version == 6 and self.ipv6_prefix < 128:
            network = ipaddress.IPv6Network((int(address), self.ipv6_prefix), strict=False)
            return f"ip:{network}"
        return f"ip:{address}"


@dataclass(frozen=True, slots=True)
class PerIdentity:
    """Key by authenticated caller (`context.identity`); anonymous callers by IP.

    Attributes:
        kinds: Identity kinds keyed by subject (empty: every kind); others fall back to IP.
        fallback: Key for callers without a matching identity.
    """

    kinds: frozenset[str] = frozenset()
    fallback: PerIp = field(default_factory=PerIp)

    def __call__(self, context: HttpRequestContext, client_ip: str) -> str:
        """``id:<kind>:<subject>``, or the IP key when there is no matching identity."""
        identity = context.identity
        if identity is not None and (not self.kinds or identity.kind in self.kinds):
            return f"id:{identity.kind}:{identity.subject}"
        return self.fallback(context, client_ip)


@dataclass(frozen=True, slots=True)
class PerRoute:
    """One shared budget for every caller of the route (protects the route, not fairness)."""

    def __call__(self, context: HttpRequestContext, client_ip: str) -> str:
        """Always ``route``."""
        return "route"


per_ip = PerIp()
"""Key by client IP (IPv6 by /64)."""

per_identity = PerIdentity()
"""Key by authenticated identity, falling back to the client IP."""

per_api_key = PerIdentity(kinds=frozenset({"api_key"}))
"""Key by API key (an identity of kind ``"api_key"``), falling back to the client IP."""

per_route = PerRoute()
"""One budget for the whole route."""


def _sf_string(value: str) -> str:
    """Serialize an RFC 9651 String (printable ASCII; quote and backslash escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_sf_printable(value: str) -> bool:
    return all(0x20 <= ord(char) <= 0x7E for char in value)


@dataclass(frozen=True, slots=True)
class RateLimit(RouteInterceptor):
    """Limit calls to a route: `limit` requests per `period` seconds per key.

    Attributes:
        limit: Requests (or cost units) per period.
        period: Period in seconds.
        key: Who shares a budget: `per_ip` (default), `per_identity`, `per_api_key`,
            `per_route`, or any ``(context, client_ip) -> str | None``.
        strategy: Counting strategy (sliding window counter by default).
        burst: Token bucket capacity (token bucket only).
        cost: Units each request spends.
        scope: Budget name; routes with the same scope share budgets (default: route name).
        name: Policy name shown in the headers (default: the scope); printable ASCII.
        headers: Whether successful answers carry ``RateLimit``/``RateLimit-Policy``.
    """

    limit: int
    period: float
    key: RateLimitKey = per_ip
    strategy: Strategy = Strategy.SLIDING_WINDOW
    burst: int | None = None
    cost: int = 1
    scope: str | None = None
    name: str | None = None
    headers: bool = True

    def __post_init__(self) -> None:
        # Build a policy once to check limit, period, strategy and burst.
        policy = RateLimitPolicy(self.limit, self.period, self.strategy, self.burst)
        check_cost(policy, self.cost)
        if not callable(self.key):
            raise TypeError("key must be callable: (context, client_ip) -> str | None")

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """Check that a `RateLimiter` is configured and precompute the policy headers.

        Raises:
            RouteSpecError: No `RateLimiter` service, or a policy name that cannot be sent.
        """
        limiter = config.get(RateLimiter)
        if limiter is None:
            raise RouteSpecError(
                f"route {route.name!r} has a rate limit but no RateLimiter is configured: "
                "pass HttpRouterConfig(services={RateLimiter: limiter})"
            )
        scope = self.scope or route.name
        name = self.name or scope
        if not name or not _is_sf_printable(name):
            raise RouteSpecError(
                f"route {route.name!r}: rate limit policy name {name!r} must be printable "
                "ASCII; set RateLimit(name=...)"
            )
        policy = RateLimitPolicy(self.limit, self.period, self.strategy, self.burst, name)
        proxies = config.get(TrustedProxies)
        return _Enforcer(self, policy, limiter, proxies, scope + ":").intercept

    def openapi_errors(self) -> dict[int, str]:
        """A rate-limited route may answer 429."""
        return {429: "Too many requests: the rate limit is exhausted (see Retry-After)"}

    def policy_header(self, name: str) -> str:
        """The ``RateLimit-Policy`` field value for this limit under policy `name`."""
        value = f"{_sf_string(name)};q={self.limit}"
        # The draft's w is a whole number of seconds: leave it out rather than round.
        if float(self.period).is_integer():
            value += f";w={int(self.period)}"
        if self.strategy is Strategy.TOKEN_BUCKET and self.burst not in (None, self.limit):
            value += f";mic-burst={self.burst}"
        return value


class _Enforcer:
    """The per-request side of one bound `RateLimit`."""

    __slots__ = (
        "_cost",
        "_headers",
        "_key",
        "_limiter",
        "_name",
        "_policy",
        "_policy_header",
        "_prefix",
        "_proxies",
    )

    def __init__(
        self,
        spec: RateLimit,
        policy: RateLimitPolicy,
        limiter: RateLimiter,
        proxies: TrustedProxies | None,
        prefix: str,
    ) -> None:
        self._policy = policy
        self._limiter = limiter
        self._proxies = proxies
        self._key = spec.key
        self._cost = spec.cost
        self._headers = spec.headers
        self._prefix = prefix
        self._name = _sf_string(policy.name)
        self._policy_header = spec.policy_header(policy.name)

    def _client_ip(self, context: HttpRequestContext) -> str:
        if self._proxies is not None:
            return self._proxies.client_ip(context) or _UNKNOWN_CLIENT
        return context.client_host or _UNKNOWN_CLIENT

    async def intercept(self, context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
        """Count the request; refuse it with a 429 or let it through and add the headers."""
        key = self._key(context, self._client_ip(context))
        if key is None:
            return await call_next(context)
        decision = await self._limiter.consume(self._prefix + key, self._policy, cost=self._cost)
        if not decision.allowed:
            retry_after = max(0, math.ceil(decision.retry_after))
            raise RateLimitedError(
                message="Too many requests; retry later",
                details={
                    "policy": self._policy.name,
                    "limit": self._policy.limit,
                    "period": self._policy.period,
                },
                # Retry-After and t agree (draft section 6: Retry-After is not earlier
                # than the end of the effective window).
                headers={
                    "RateLimit": f"{self._name};r=0;t={retry_after}",
                    "RateLimit-Policy": self._policy_header,
                },
                retry_after=retry_after,
            )
        response = await call_next(context)
        if self._headers:
            reset = max(0, math.ceil(decision.reset_after))
            _append(response, "ratelimit", f"{self._name};r={decision.remaining};t={reset}")
            _append(response, "ratelimit-policy", self._policy_header)
        return response


def _append(response: HttpResponse, name: str, value: str) -> None:
    # Both fields are Lists: a second policy (an app-wide limit around a route limit) adds
    # a member instead of replacing the first (RFC 9651 section 3.1).
    existing = response.header(name)
    response.set_header(name, f"{existing}, {value}" if existing else value)

"""The rate limiter contract: policies, decisions, the `RateLimiter` ABC and the strategy math.

The math lives here as pure functions of ``(now, state)`` so the in-memory backend, the Redis
Lua scripts and the property tests all describe one algorithm per strategy.
"""

from __future__ import annotations

import asyncio
import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, NamedTuple

from mic._waiting import Poller
from mic.model import RateLimitedError

Sleep = Callable[[float], Awaitable[None]]

# The largest limit, burst or cost: an RFC 9651 Integer (the ``q`` and ``r`` header parameters)
# has at most 15 digits, and the Redis scripts compute in doubles, exact to 2**53.
MAX_UNITS = 999_999_999_999_999
# The longest period: ten years keeps every time in the Redis scripts (integer microseconds
# of server time plus a few periods) exact in a double.
MAX_PERIOD = 315_360_000.0

# Float error allowance when turning a fractional token count into whole units: 2.9999999997
# tokens after a refill are 3 tokens, not 2.
_EPSILON = 1e-9


class Strategy(StrEnum):
    """How a limit of `limit` units per `period` seconds is counted.

    Attributes:
        FIXED_WINDOW: At most `limit` units per aligned window of `period` seconds. Cheapest;
            a caller may spend `limit` at the end of one window and `limit` again at the start
            of the next (up to twice the limit in any rolling `period`).
        SLIDING_WINDOW: The sliding window counter: the previous window's count, weighted by
            how much of it still overlaps the rolling window, plus the current count. Never
            more than `limit` per aligned window, and smooths the boundary burst.
        TOKEN_BUCKET: A bucket of `burst` tokens refilled at `limit / period` tokens per
            second (implemented as GCRA: one stored timestamp per key). In any interval of
            `t` seconds at most ``burst + limit * t / period`` units are admitted.
    """

    FIXED_WINDOW = "fixed_window"
    SLIDING_WINDOW = "sliding_window"
    TOKEN_BUCKET = "token_bucket"  # noqa: S105 - a strategy name, not a secret


_SHORT_NAMES = {
    Strategy.FIXED_WINDOW: "fw",
    Strategy.SLIDING_WINDOW: "sw",
    Strategy.TOKEN_BUCKET: "tb",
}


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """A limit: `limit` units per `period` seconds, counted with `strategy`.

    Attributes:
        limit: Units admitted per period (requests, or any cost unit), >= 1.
        period: Length of the period in seconds, >= 0.001.
        strategy: How units are counted (sliding window counter by default).
        burst: Token bucket capacity (defaults to `limit`); only for `TOKEN_BUCKET`.
        name: Policy name, shown to clients in the ``RateLimit`` headers.
    """

    limit: int
    period: float
    strategy: Strategy = Strategy.SLIDING_WINDOW
    burst: int | None = None
    name: str = "default"
    storage_id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError("rate limit policy name must be a string")
        if not _is_units(self.limit):
            raise ValueError(
                f"rate limit policy {self.name!r}: limit must be an integer >= 1 and <= {MAX_UNITS}"
            )
        if (
            isinstance(self.period, bool)
            or not isinstance(self.period, int | float)
            or not 0.001 <= self.period <= MAX_PERIOD
        ):
            raise ValueError(
                f"rate limit policy {self.name!r}: period must be a number of seconds "
                f"between 0.001 and {MAX_PERIOD:.0f}"
            )
        object.__setattr__(self, "strategy", Strategy(self.strategy))
        if self.burst is not None:
            if self.strategy is not Strategy.TOKEN_BUCKET:
                raise ValueError(
                    f"rate limit policy {self.name!r}: burst only applies to the token bucket"
                )
            if not _is_units(self.burst):
                raise ValueError(
                    f"rate limit policy {self.name!r}: burst must be an integer >= 1 "
                    f"and <= {MAX_UNITS}"
                )
        # The storage id names the counting rules, so two policies that differ in any rule
        # never share (and corrupt) one counter.
        period_us = round(self.period * 1_000_000)
        object.__setattr__(
            self,
            "storage_id",
            f"{_SHORT_NAMES[self.strategy]}:{self.limit}:{period_us}:{self.capacity}:",
        )

    @property
    def capacity(self) -> int:
        """The most units one decision may ask for: `burst` for a token bucket, else `limit`."""
        return self.burst if self.burst is not None else self.limit


class RateLimitDecision(NamedTuple):
    """The answer to one `consume` call; true when allowed.

    Attributes:
        allowed: Whether the units were admitted (and counted).
        limit: The policy's limit.
        remaining: Whole units still available right now (after this decision).
        reset_after: Seconds until the counter resets: the end of the current window for the
            window strategies, the time until the bucket is full again for the token bucket.
        retry_after: When denied, seconds until the same request would be admitted; ``0.0``
            when allowed.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float

    def __bool__(self) -> bool:
        """True when allowed, so ``if await limiter.consume(key):`` reads as it should."""
        return self.allowed


def _is_units(value: object) -> bool:
    """Whether `value` is a whole number of units the headers and scripts can carry."""
    return type(value) is int and 1 <= value <= MAX_UNITS


def check_cost(policy: RateLimitPolicy, cost: int) -> None:
    """Reject a cost that could never be admitted under `policy`.

    Raises:
        ValueError: `cost` is not an integer between 1 and the policy's capacity.
    """
    if isinstance(cost, bool) or not isinstance(cost, int) or not 1 <= cost <= policy.capacity:
        raise ValueError(
            f"cost must be an integer between 1 and {policy.capacity} for policy {policy.name!r}"
        )


class RateLimiter(ABC):
    """Decides whether a key may spend units now; the backends share one behaviour suite.

    Every method is a coroutine. A limiter may hold a default policy, used when a call passes
    none. Keys are opaque strings (``"orders.create:ip:203.0.113.9"``); the same key under two
    different policies counts separately.
    """

    def __init__(self, policy: RateLimitPolicy | None = None, sleep: Sleep | None = None) -> None:
        self.policy = policy
        self._sleep: Sleep = sleep or asyncio.sleep

    def _policy(self, policy: RateLimitPolicy | None) -> RateLimitPolicy:
        chosen = policy or self.policy
        if chosen is None:
            raise ValueError("no rate limit policy: pass one or give the limiter a default")
        return chosen

    probe_name: ClassVar[str] = "ratelimit"
    """Key of this backend in the readiness answer (`mic.healthcheck.ping_probe`)."""

    async def ping(self) -> None:
        """Raise if the backend cannot serve; this in-process one always can.

        `mic.healthcheck.ping_probe` builds the readiness probe from it. Backends on a
        server override it with a cheap round trip on their own client.
        """
        return

    @abstractmethod
    async def consume(
        self, key: str, policy: RateLimitPolicy | None = None, *, cost: int = 1
    ) -> RateLimitDecision:
        """Spend `cost` units of `key` if the policy allows it, in one atomic decision.

        Raises:
            ValueError: No policy, or `cost` outside ``1..capacity``.
            TransientError: The backend is unreachable and the limiter fails closed.
        """

    @abstractmethod
    async def reset(self, key: str, policy: RateLimitPolicy | None = None) -> None:
        """Forget everything counted for `key` under the policy."""

    async def acquire(
        self,
        key: str,
        policy: RateLimitPolicy | None = None,
        *,
        cost: int = 1,
        max_wait: float | None = None,
    ) -> RateLimitDecision:
        """Wait until `cost` units of `key` are admitted, for consumers and jobs.

        Args:
            key: What is limited.
            policy: The policy (the limiter's default when omitted).
            cost: Units to spend.
            max_wait: Most seconds to spend waiting; ``None`` waits as long as needed.

        Raises:
            RateLimitedError: Admission would need more waiting than `max_wait` allows.
            ValueError: No policy, or `cost` outside ``1..capacity``.
            TransientError: The backend is unreachable and the limiter fails closed.
        """
        # The budget counts the time slept here (clock=None): the sleep is all this knows of time.
        poller = Poller(interval=0.0, budget=max_wait, clock=None, sleep=self._sleep)
        while True:
            decision = await self.consume(key, policy, cost=cost)
            if decision.allowed:
                return decision
            wait = decision.retry_after
            if not await poller.wait(wait, whole=True):
                raise RateLimitedError(
                    message=f"Rate limit for {key!r} not available within {max_wait} seconds",
                    retry_after=wait,
                )


# --- Strategy math (seconds as floats). The Lua scripts in `_redis` mirror these. ---
# Each function takes the stored state (``None`` when the key is new or idle) and returns the
# decision, the state to store (``None``: leave it as it is) and when that state expires
# (becomes equivalent to "never seen"). States are plain tuples: this is the hot path.

FixedWindowState = tuple[float, int]
"""Fixed window state: (window index, units counted in it)."""

SlidingWindowState = tuple[float, int, int]
"""Sliding window state: (window index, current window count, previous window count)."""

_decision = tuple.__new__  # builds a RateLimitDecision without NamedTuple's keyword handling


def fixed_window(
    now: float, policy: RateLimitPolicy, cost: int, state: FixedWindowState | None
) -> tuple[RateLimitDecision, FixedWindowState | None, float]:
    """Decide under a fixed window."""
    period = policy.period
    window = now // period
    count = state[1] if state is not None and state[0] == window else 0
    window_end = (window + 1) * period
    reset_after = window_end - now
    limit = policy.limit
    if count + cost <= limit:
        count += cost
        allowed = _decision(RateLimitDecision, (True, limit, limit - count, reset_after, 0.0))
        return allowed, (window, count), window_end
    denied = _decision(RateLimitDecision, (False, limit, limit - count, reset_after, reset_after))
    return denied, None, window_end


def sliding_window(
    now: float, policy: RateLimitPolicy, cost: int, state: SlidingWindowState | None
) -> tuple[RateLimitDecision, SlidingWindowState | None, float]:
    """Decide under the sliding window counter."""
    period = policy.period
    limit = policy.limit
    window = now // period
    current = previous = 0
    if state is not None:
        if state[0] == window:
            current, previous = state[1], state[2]
        elif state[0] == window - 1:
            previous = state[1]
    elapsed = now - window * period
    estimate = previous * (period - elapsed) / period + current
    reset_after = period - elapsed
    # The counts matter until the end of the next window, where they stop overlapping.
    expiry = (window + 2) * period
    if estimate + cost <= limit:
        remaining = max(0, math.floor(limit - estimate - cost + _EPSILON))
        allowed = _decision(RateLimitDecision, (True, limit, remaining, reset_after, 0.0))
        return allowed, (window, current + cost, previous), expiry
    if current + cost <= limit:
        # Wait until the previous window's weight has decayed enough (previous > 0 here).
        retry_after = period * (1 - (limit - current - cost) / previous) - elapsed
    else:
        # Wait for the next window, where the current count becomes the decaying previous one.
        retry_after = reset_after + period * (1 - (limit - cost) / current)
    remaining = max(0, math.floor(limit - estimate + _EPSILON))
    denied = (False, limit, remaining, reset_after, max(retry_after, 0.0))
    return _decision(RateLimitDecision, denied), None, expiry


def token_bucket(
    now: float, policy: RateLimitPolicy, cost: int, tat: float | None
) -> tuple[RateLimitDecision, float | None, float]:
    """Decide under GCRA, the token bucket as one "theoretical arrival time" (TAT) per key.

    The bucket is full when ``tat <= now``; each unit pushes `tat` one emission interval
    (``period / limit``) into the future; a request is admitted while the push stays within
    ``capacity`` intervals of now. The state is `tat`, and it expires at `tat`.
    """
    interval = policy.period / policy.limit
    capacity = policy.capacity
    if tat is None or tat < now:
        tat = now
    new_tat = tat + cost * interval
    # Admitted while the backlog leaves room for `cost` units. Written as backlog against
    # headroom (not ``now < new_tat - capacity * interval``) so that a full bucket (backlog 0)
    # always admits a request of `cost == capacity`: the other form rounds to a refusal.
    backlog = tat - now
    wait = backlog - (capacity - cost) * interval
    if wait > 0:
        remaining = max(0, math.floor(capacity - backlog / interval + _EPSILON))
        denied = (False, policy.limit, remaining, backlog, wait)
        return _decision(RateLimitDecision, denied), None, tat
    remaining = max(0, math.floor(capacity - (new_tat - now) / interval + _EPSILON))
    allowed = (True, policy.limit, remaining, new_tat - now, 0.0)
    return _decision(RateLimitDecision, allowed), new_tat, new_tat

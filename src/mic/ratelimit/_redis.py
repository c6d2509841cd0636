"""`RedisRateLimiter`: one limit shared by every worker, decided atomically inside Redis.

Each decision is one ``EVALSHA`` of a small Lua script that reads the clock with
``redis.call('TIME')``: the server's clock is the only clock, so workers with skewed clocks
still count in the same windows. Needs the ``redis`` extra and a Redis server >= 5 (scripts
that write after reading ``TIME`` need effect replication, the default since Redis 5).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from mic._checks import check_duration
from mic._deps import require
from mic._ping import ping_redis
from mic._redis_script import RedisScript
from mic.model import TransientError
from mic.ratelimit._core import (
    RateLimitDecision,
    RateLimiter,
    RateLimitPolicy,
    Sleep,
    Strategy,
    check_cost,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis


logger = logging.getLogger("mic.ratelimit")

FailureMode = Literal["open", "closed"]

# Times are integer microseconds of server time (exact in a Lua double up to 2**53 us, year
# 2255). Integers are stored with '%.0f' because Lua's tostring keeps only 14 digits.
# The arguments travel as one string "period_us limit cost capacity" and the answer as one
# string "allowed remaining reset_after_us retry_after_us": one argument and a flat reply
# cost the client far less to encode and parse than four integers and an array.
# Hot path, measured per decision inside Redis: the numbers stay strings that Lua coerces in
# arithmetic (no tonumber calls), and each script formats its own answer inline (no closure
# built per call); together ~15% of the script's time.
_PREAMBLE = """
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local period, limit, cost, capacity = string.match(ARGV[1], '(%d+) (%d+) (%d+) (%d+)')
"""

_FIXED_WINDOW = (
    _PREAMBLE
    + """
local window = math.floor(now / period)
local state = redis.call('HMGET', KEYS[1], 'w', 'c')
local same_window = tonumber(state[1]) == window
local count = 0
if same_window then count = tonumber(state[2]) end
local reset_after = (window + 1) * period - now
if count + cost <= limit + 0 then
  count = count + cost
  if same_window then
    redis.call('HINCRBY', KEYS[1], 'c', cost)
  else
    -- A new window: its expiry is set once, at the window's end.
    redis.call('HSET', KEYS[1], 'w', string.format('%.0f', window), 'c', count)
    redis.call('PEXPIRE', KEYS[1], math.ceil(reset_after / 1000))
  end
  return string.format('1 %d %.0f 0', limit - count, reset_after)
end
return string.format('0 %d %.0f %.0f', limit - count, reset_after, reset_after)
"""
)

_SLIDING_WINDOW = (
    _PREAMBLE
    + """
local window = math.floor(now / period)
local state = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local stored = tonumber(state[1])
local current, previous = 0, 0
if stored == window then
  current = tonumber(state[2])
  previous = tonumber(state[3])
elseif stored == window - 1 then
  previous = tonumber(state[2])
end
local elapsed = now - window * period
local estimate = previous * (period - elapsed) / period + current
local reset_after = period - elapsed
if estimate + cost <= limit + 0 then
  if stored == window then
    redis.call('HINCRBY', KEYS[1], 'c', cost)
  else
    -- A new window: the counts matter until the end of the next one.
    redis.call('HSET', KEYS[1], 'w', string.format('%.0f', window), 'c', current + cost,
               'p', previous)
    redis.call('PEXPIRE', KEYS[1], math.ceil((2 * period - elapsed) / 1000))
  end
  local remaining = math.max(0, math.floor(limit - estimate - cost + 1e-9))
  return string.format('1 %d %.0f 0', remaining, reset_after)
end
local retry_after
if current + cost <= limit + 0 then
  retry_after = period * (1 - (limit - current - cost) / previous) - elapsed
else
  retry_after = reset_after + period * (1 - (limit - cost) / current)
end
local remaining = math.max(0, math.floor(limit - estimate + 1e-9))
return string.format('0 %d %.0f %.0f', remaining, reset_after,
                     math.max(0, math.ceil(retry_after)))
"""
)

# The capacity is the burst; the state is the theoretical arrival time (GCRA).
_TOKEN_BUCKET = (
    _PREAMBLE
    + """
local interval = period / limit
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + cost * interval
-- Backlog against headroom, as in mic.ratelimit._core: a full bucket admits cost == capacity.
local wait = (tat - now) - (capacity - cost) * interval
if wait > 0 then
  local remaining = math.max(0, math.floor(capacity - (tat - now) / interval + 1e-9))
  return string.format('0 %d %.0f %.0f', remaining, math.ceil(tat - now), math.ceil(wait))
end
new_tat = math.ceil(new_tat)
local ttl = new_tat - now
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',
           math.max(1, math.ceil(ttl / 1000)))
local remaining = math.max(0, math.floor(capacity - ttl / interval + 1e-9))
return string.format('1 %d %.0f 0', remaining, ttl)
"""
)

_SCRIPTS = {
    Strategy.FIXED_WINDOW: _FIXED_WINDOW,
    Strategy.SLIDING_WINDOW: _SLIDING_WINDOW,
    Strategy.TOKEN_BUCKET: _TOKEN_BUCKET,
}


_MAX_CACHED_POLICIES = 1024

_decision = tuple.__new__  # builds a RateLimitDecision without NamedTuple's keyword handling


def _arguments(policy: RateLimitPolicy, cost: int) -> bytes:
    """The one packed script argument: ``b"period_us limit cost capacity"``."""
    period_us = round(policy.period * 1_000_000)
    return f"{period_us} {policy.limit} {cost} {policy.capacity}".encode()


class RedisRateLimiter(RateLimiter):
    """A rate limiter whose counters live in Redis, shared by every process that uses it.

    A decision is exactly one round trip: ``EVALSHA`` with the script's SHA-1 computed
    locally; only when the server does not know the script yet (first use, restart,
    ``SCRIPT FLUSH``) is it sent once with ``EVAL``, which also caches it. One key per
    (policy, key), so it works on Redis Cluster too.

    When Redis fails (unreachable, timeout, any Redis error), the limiter logs it (at most
    one warning per 10 seconds), counts it in `unavailable_count`, calls `on_unavailable`,
    then fails closed (raises `TransientError`, a 503 on HTTP) or open (admits the request)
    as configured.

    Args:
        client: A ``redis.asyncio.Redis`` client (the limiter does not close it).
        policy: Default policy for calls that pass none.
        prefix: Prepended to every Redis key.
        failure_mode: ``"closed"`` (default) refuses while Redis fails; ``"open"`` admits.
        unavailable_retry_after: ``Retry-After`` seconds of the 503 when failing closed.
        on_unavailable: Called with the error each time Redis fails (metrics hook).
        sleep: Async sleep used by `acquire`.

    Raises:
        MissingDependencyError: The ``redis`` extra is not installed.
    """

    def __init__(
        self,
        client: Redis,
        policy: RateLimitPolicy | None = None,
        *,
        prefix: str = "mic:ratelimit:",
        failure_mode: FailureMode = "closed",
        unavailable_retry_after: float = 1.0,
        on_unavailable: Callable[[Exception], None] | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        redis = require("redis", "redis")
        if failure_mode not in ("open", "closed"):
            raise ValueError("failure_mode must be 'open' or 'closed'")
        check_duration("unavailable_retry_after", unavailable_retry_after, allow_zero=True)
        super().__init__(policy, sleep)
        self.client = client
        self.prefix = prefix
        self.failure_mode = failure_mode
        self.unavailable_retry_after = unavailable_retry_after
        self.on_unavailable = on_unavailable
        self.unavailable_count = 0
        self._redis_error: type[Exception] = redis.exceptions.RedisError
        self._scripts = {strategy: RedisScript(script) for strategy, script in _SCRIPTS.items()}
        self._unit_arguments: dict[str, bytes] = {}
        self._last_warning = -float("inf")

    async def ping(self) -> None:
        """``PING`` on this limiter's Redis client: the readiness check."""
        await ping_redis(self.client)

    async def consume(
        self, key: str, policy: RateLimitPolicy | None = None, *, cost: int = 1
    ) -> RateLimitDecision:
        """Spend `cost` units of `key` if the policy allows it (see `RateLimiter.consume`).

        Raises:
            ValueError: No policy, or `cost` outside ``1..capacity``.
            TransientError: Redis failed and `failure_mode` is ``"closed"``.
        """
        policy = policy or self._policy(None)
        if cost != 1 or type(cost) is not int:
            check_cost(policy, cost)
            args = _arguments(policy, cost)
        else:
            # The usual cost of 1: the packed arguments are the same for every decision
            # under one policy, so they are built once (keyed by the policy's storage id).
            args = self._unit_arguments.get(policy.storage_id) or self._cache_arguments(policy)
        strategy = policy.strategy
        redis_key = self.prefix + policy.storage_id + key
        client = self.client
        try:
            reply = await self._scripts[strategy](client, (redis_key,), (args,))
        except (self._redis_error, OSError) as error:
            # redis-py wraps socket errors in its own; OSError is caught too, so a socket
            # error a client version leaves unwrapped still follows the failure mode.
            return self._unavailable(error, policy)
        allowed, remaining, reset_after, retry_after = reply.split()
        return _decision(
            RateLimitDecision,
            (
                allowed in (b"1", "1"),  # bytes, or str with decode_responses=True
                policy.limit,
                int(remaining),
                int(reset_after) / 1e6,
                int(retry_after) / 1e6,
            ),
        )

    def _cache_arguments(self, policy: RateLimitPolicy) -> bytes:
        if len(self._unit_arguments) >= _MAX_CACHED_POLICIES:
            self._unit_arguments.clear()  # many policies built on the fly: stay bounded
        args = self._unit_arguments[policy.storage_id] = _arguments(policy, 1)
        return args

    async def reset(self, key: str, policy: RateLimitPolicy | None = None) -> None:
        """Forget everything counted for `key` under the policy.

        Raises:
            redis.exceptions.RedisError: Redis failed (a reset is an explicit admin action,
                so it never fails silently).
        """
        await self.client.delete(self.prefix + self._policy(policy).storage_id + key)

    def _unavailable(self, error: Exception, policy: RateLimitPolicy) -> RateLimitDecision:
        self.unavailable_count += 1
        now = time.monotonic()
        if now - self._last_warning >= 10.0:
            self._last_warning = now
            logger.warning(
                "rate limiter backend failed (%d failures so far), failing %s: %r",
                self.unavailable_count,
                self.failure_mode,
                error,
            )
        if self.on_unavailable is not None:
            try:
                self.on_unavailable(error)
            except Exception:
                # A broken metrics hook must not turn the configured choice into a 500.
                logger.exception("on_unavailable hook of the rate limiter failed")
        if self.failure_mode == "open":
            return RateLimitDecision(
                allowed=True,
                limit=policy.limit,
                remaining=policy.limit,
                reset_after=0.0,
                retry_after=0.0,
            )
        raise TransientError(
            "rate_limiter_unavailable",
            "The rate limiter is temporarily unavailable",
            retry_after=self.unavailable_retry_after,
        ) from error

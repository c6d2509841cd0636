"""`InMemoryRateLimiter`: a complete limiter for one process, with bounded memory.

Right for tests, single-process services and per-process protection; it does NOT hold across
workers (each process counts alone). Use `RedisRateLimiter` when several workers share a limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from mic._checks import check_count, check_duration
from mic.ratelimit._core import (
    RateLimitDecision,
    RateLimiter,
    RateLimitPolicy,
    Sleep,
    Strategy,
    check_cost,
    fixed_window,
    sliding_window,
    token_bucket,
)

logger = logging.getLogger("mic.ratelimit")

_DEFAULT_MAX_KEYS = 100_000


class InMemoryRateLimiter(RateLimiter):
    """A rate limiter held in this process's memory.

    Idle keys (whose state has decayed to "never seen") are swept when new keys arrive, at
    most once per `sweep_interval`. When `max_keys` live keys exist, the least recently used
    tenth is evicted (each evicted key restarts with a full allowance; `evictions` counts
    them). Every decision, a refusal too, makes its key the most recently used: a client
    hammering at its limit stays counted however many other keys arrive.

    Async-safe on one event loop (a decision never awaits); not thread-safe.

    Args:
        policy: Default policy for calls that pass none.
        max_keys: Most keys held at once (>= 1).
        sweep_interval: Seconds between sweeps of idle keys.
        clock: Monotonic clock in seconds (injectable for tests).
        sleep: Async sleep used by `acquire` (injectable for tests).
    """

    def __init__(
        self,
        policy: RateLimitPolicy | None = None,
        *,
        max_keys: int = _DEFAULT_MAX_KEYS,
        sweep_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep | None = None,
    ) -> None:
        check_count("max_keys", max_keys)
        check_duration("sweep_interval", sweep_interval)
        super().__init__(policy, sleep)
        self.max_keys = max_keys
        self.sweep_interval = sweep_interval
        self.evictions = 0
        self._clock = clock
        # storage key -> (expiry, state), least recently used first.
        self._entries: dict[str, tuple[float, Any]] = {}
        self._next_sweep = clock() + sweep_interval

    def __len__(self) -> int:
        """Number of keys currently held."""
        return len(self._entries)

    async def consume(
        self, key: str, policy: RateLimitPolicy | None = None, *, cost: int = 1
    ) -> RateLimitDecision:
        """Spend `cost` units of `key` if the policy allows it (see `RateLimiter.consume`)."""
        policy = policy or self._policy(None)
        if cost != 1 or type(cost) is not int:
            check_cost(policy, cost)
        now = self._clock()
        storage_key = policy.storage_id + key
        entries = self._entries
        # Popped and put back at the end: the dict's order is least recently used first.
        entry = entries.pop(storage_key, None)
        state = entry[1] if entry is not None and entry[0] > now else None
        strategy = policy.strategy
        new_state: Any
        if strategy is Strategy.SLIDING_WINDOW:
            decision, new_state, expiry = sliding_window(now, policy, cost, state)
        elif strategy is Strategy.FIXED_WINDOW:
            decision, new_state, expiry = fixed_window(now, policy, cost, state)
        else:
            decision, new_state, expiry = token_bucket(now, policy, cost, state)
        if new_state is not None:
            if entry is None:
                self._admit_new_key(now)
            entries[storage_key] = (expiry, new_state)
        elif entry is not None:
            entries[storage_key] = entry
        return decision

    async def reset(self, key: str, policy: RateLimitPolicy | None = None) -> None:
        """Forget everything counted for `key` under the policy."""
        self._entries.pop(self._policy(policy).storage_id + key, None)

    def _admit_new_key(self, now: float) -> None:
        if now >= self._next_sweep:
            self._sweep(now)
        if len(self._entries) >= self.max_keys:
            self._sweep(now)
            if len(self._entries) >= self.max_keys:
                self._evict_oldest()

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.sweep_interval
        idle = [k for k, (expiry, _) in self._entries.items() if expiry <= now]
        for storage_key in idle:
            del self._entries[storage_key]

    def _evict_oldest(self) -> None:
        # Evict the least recently used tenth at once, so a full table costs one scan per
        # max_keys/10 new keys, not one per key.
        count = max(1, self.max_keys // 10)
        oldest = [k for k, _ in zip(self._entries, range(count), strict=False)]
        for storage_key in oldest:
            del self._entries[storage_key]
        self.evictions += len(oldest)
        logger.warning(
            "in-memory rate limiter is full (%d keys): evicted %d live keys",
            self.max_keys,
            len(oldest),
        )

"""Rate limiter decisions per second, ours beside the reference, in one run.

In-memory: `InMemoryRateLimiter` against the `limits` library's in-memory strategies
(fixed window and sliding window counter; the same algorithms). Redis: `RedisRateLimiter`
against raw ``EVALSHA`` of a trivial script from the same client on the same connection,
in short alternating rounds (the reported Redis ratio is the median of per-round ratios).
Run: ``.venv/bin/python -m benchmarks.bench_ratelimit``.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)

from benchmarks._callgrind import Comparison, Goal
from mic.ratelimit import InMemoryRateLimiter, RateLimitPolicy, RedisRateLimiter, Strategy

SECONDS = 1.5  # per measured side
KEYS = [f"client-{n}" for n in range(1000)]  # decisions rotate over 1000 keys
ROUNDS = 30  # alternating Redis rounds of SECONDS / ROUNDS each, per side
LIMIT = 1_000_000  # high enough that every decision is an admission on both sides


def _rate_sync(call: Callable[[str], object]) -> float:
    count = 0
    deadline = time.perf_counter() + SECONDS
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        for key in KEYS:
            call(key)
        count += len(KEYS)
    return count / (time.perf_counter() - start)


async def _rate_async(
    call: Callable[[str], Awaitable[object]], batch: list[str], seconds: float = SECONDS
) -> float:
    count = 0
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        for key in batch:
            await call(key)
        count += len(batch)
    return count / (time.perf_counter() - start)


def _line(name: str, ours: float, reference: float, goal: float, ratio: float | None = None) -> str:
    ratio = ours / reference if ratio is None else ratio
    return (
        f"{name}: ours {ours:,.0f} ops/s, reference {reference:,.0f} ops/s, "
        f"ratio {ratio:.2f}x (goal >= {goal}x)"
    )


async def _in_memory() -> None:
    item = parse(f"{LIMIT}/minute")
    cases = [
        (
            "in-memory fixed window vs limits FixedWindow",
            Strategy.FIXED_WINDOW,
            FixedWindowRateLimiter,
            2.0,
        ),
        (
            "in-memory sliding window vs limits SlidingWindowCounter",
            Strategy.SLIDING_WINDOW,
            SlidingWindowCounterRateLimiter,
            2.0,
        ),
        (
            "in-memory token bucket vs limits MovingWindow (no token bucket in limits)",
            Strategy.TOKEN_BUCKET,
            MovingWindowRateLimiter,
            2.0,
        ),
    ]
    for name, strategy, reference_class, goal in cases:
        limiter = InMemoryRateLimiter(RateLimitPolicy(LIMIT, 60, strategy))
        ours = await _rate_async(limiter.consume, KEYS)
        reference_limiter = reference_class(MemoryStorage())
        reference = _rate_sync(lambda key, r=reference_limiter: r.hit(item, key))
        print(_line(name, ours, reference, goal))


async def _redis() -> None:
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    # One connection: both sides share it, so the comparison is round trip for round trip.
    client = Redis(host="127.0.0.1", port=6379, single_connection_client=True)
    try:
        await client.ping()
    except (RedisConnectionError, OSError) as error:
        print(f"redis: skipped, Redis is not reachable on 127.0.0.1:6379 ({error})")
        await client.aclose()
        return
    prefix = f"bench:ratelimit:{uuid.uuid4().hex}:"
    trivial = await client.script_load("return 1")
    keys = KEYS[:100]
    try:
        for strategy in Strategy:
            limiter = RedisRateLimiter(client, RateLimitPolicy(LIMIT, 60, strategy), prefix=prefix)
            await limiter.consume("warm-up")

            async def reference(key: str) -> object:
                return await client.evalsha(trivial, 1, prefix + key)

            # Many short rounds, alternating which side goes first, so load from other
            # processes on the machine hits both sides alike; the ratio reported is the
            # median of the per-round ratios (each round pairs the two sides in time).
            ours_rates: list[float] = []
            reference_rates: list[float] = []
            for round_number in range(ROUNDS):
                sides = [(limiter.consume, ours_rates), (reference, reference_rates)]
                for call, rates in sides if round_number % 2 == 0 else reversed(sides):
                    rates.append(await _rate_async(call, keys, SECONDS / ROUNDS))
            ratio = statistics.median(
                o / r for o, r in zip(ours_rates, reference_rates, strict=True)
            )
            name = f"redis {strategy.value} vs raw EVALSHA 'return 1' (one connection)"
            ours, ref = statistics.median(ours_rates), statistics.median(reference_rates)
            print(_line(name, ours, ref, 0.8, ratio))
    finally:
        async for key in client.scan_iter(match=prefix + "*"):
            await client.delete(key)
        await client.aclose()


def main() -> None:
    """Run every case and print one line per case."""
    asyncio.run(_in_memory())
    asyncio.run(_redis())


if __name__ == "__main__":
    main()


def _steady_storage() -> MemoryStorage:
    """`limits`' memory storage, its expiry timer kept alive for the whole run.

    Every hit restarts the 10 ms expiry thread when the last one has finished. Under
    callgrind, which runs the program tens of times slower, that happens on almost every
    hit, so the count would measure thread start-ups paced by the wall clock, not the
    limiter; with a long-lived timer the check stays a cheap `is_alive()`, as on a busy
    server. Nothing expires within the measured minute window either way.
    """
    storage = MemoryStorage()
    storage.timer.cancel()
    storage.timer = threading.Timer(3600, lambda: None)
    storage.timer.daemon = True
    storage.timer.start()
    return storage


async def callgrind_cases() -> list[Comparison]:
    """In-memory decisions against `limits` (Redis is left to the wall-clock mode: a network
    round trip makes the event loop's work depend on when the answer arrives)."""
    item = parse(f"{LIMIT}/minute")
    strategies = [
        ("fixed window vs limits FixedWindow", Strategy.FIXED_WINDOW, FixedWindowRateLimiter),
        (
            "sliding window vs limits SlidingWindowCounter",
            Strategy.SLIDING_WINDOW,
            SlidingWindowCounterRateLimiter,
        ),
        ("token bucket vs limits MovingWindow", Strategy.TOKEN_BUCKET, MovingWindowRateLimiter),
    ]
    cases = []
    for title, strategy, reference_class in strategies:
        limiter = InMemoryRateLimiter(RateLimitPolicy(LIMIT, 60, strategy))
        reference_limiter = reference_class(_steady_storage())
        keys = itertools.cycle(KEYS)

        async def ours(limiter: InMemoryRateLimiter = limiter, keys: Any = keys) -> None:
            await limiter.consume(next(keys))

        def reference(limiter: Any = reference_limiter, keys: Any = keys) -> None:
            limiter.hit(item, next(keys))

        cases.append(Comparison(f"in-memory {title}", ours, reference, Goal(2.0)))
    return cases

"""Rate limiter decisions per second, ours beside the reference, in one run.

In-memory: `InMemoryRateLimiter` against the `limits` library's in-memory strategies
(fixed window and sliding window counter; the same algorithms). Redis: `RedisRateLimiter`
against raw ``EVALSHA`` of a trivial script from the same client on the same connection.
Run: ``.venv/bin/python -m benchmarks.bench_ratelimit``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)

from mic.ratelimit import InMemoryRateLimiter, RateLimitPolicy, RedisRateLimiter, Strategy

SECONDS = 1.5  # per measured side
KEYS = [f"client-{n}" for n in range(1000)]  # decisions rotate over 1000 keys
ROUNDS = 6  # alternating Redis rounds of SECONDS / ROUNDS each
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


def _line(name: str, ours: float, reference: float, goal: float) -> str:
    return (
        f"{name}: ours {ours:,.0f} ops/s, reference {reference:,.0f} ops/s, "
        f"ratio {ours / reference:.2f}x (goal >= {goal}x)"
    )


async def _in_memory() -> None:
    item = parse(f"{LIMIT}/minute")
    cases = [
        ("in-memory fixed window vs limits FixedWindow", Strategy.FIXED_WINDOW,
         FixedWindowRateLimiter, 2.0),
        ("in-memory sliding window vs limits SlidingWindowCounter", Strategy.SLIDING_WINDOW,
         SlidingWindowCounterRateLimiter, 2.0),
        ("in-memory token bucket vs limits MovingWindow (no token bucket in limits)",
         Strategy.TOKEN_BUCKET, MovingWindowRateLimiter, 2.0),
    ]  # fmt: skip
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
            # Alternate short rounds so load changes on the machine hit both sides alike.
            ours_total = reference_total = 0.0
            for _ in range(ROUNDS):
                ours_total += await _rate_async(limiter.consume, keys, SECONDS / ROUNDS)
                reference_total += await _rate_async(
                    lambda key: client.evalsha(trivial, 1, prefix + key), keys, SECONDS / ROUNDS
                )
            name = f"redis {strategy.value} vs raw EVALSHA 'return 1' (one connection)"
            print(_line(name, ours_total / ROUNDS, reference_total / ROUNDS, 0.8))
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

"""A worker process for the cross-process test: hammers one key and reports its admissions.

Usage: ``python -m tests.ratelimit._worker URL PREFIX BACKEND START DURATION STRATEGY...``.
Prints one JSON object: for each strategy, (sent at, answered at, reset_after) per admission.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from mic.ratelimit import (
    InMemoryRateLimiter,
    RateLimiter,
    RateLimitPolicy,
    RedisRateLimiter,
    Strategy,
)

LIMIT = 20
PERIOD = 1.0
BURST = 5
CONCURRENCY = 4  # tasks per process


def policy_for(strategy: Strategy) -> RateLimitPolicy:
    """The policy every worker uses for `strategy`."""
    burst = BURST if strategy is Strategy.TOKEN_BUCKET else None
    return RateLimitPolicy(LIMIT, PERIOD, strategy, burst=burst)


async def hammer(limiter: RateLimiter, policy: RateLimitPolicy, until: float) -> list[list[float]]:
    admitted: list[list[float]] = []

    async def task() -> None:
        while (before := time.time()) < until:
            decision = await limiter.consume("shared", policy)
            if decision.allowed:
                admitted.append([before, time.time(), decision.reset_after])

    await asyncio.gather(*(task() for _ in range(CONCURRENCY)))
    return admitted


async def main(argv: list[str]) -> None:
    url, prefix, backend, start, duration, *strategies = argv
    limiter: RateLimiter
    if backend == "redis":
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        limiter = RedisRateLimiter(client, prefix=prefix)
    else:
        limiter = InMemoryRateLimiter()
    results: dict[str, object] = {}
    begin = float(start)
    for strategy in map(Strategy, strategies):
        await asyncio.sleep(max(0.0, begin - time.time()))
        until = begin + float(duration)
        results[strategy.value] = await hammer(limiter, policy_for(strategy), until)
        begin = until + 0.2
    if backend == "redis":
        await client.aclose()
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

"""A worker process for the cross-process test: hammers one key and reports its admissions.

Usage: ``python -m tests.ratelimit._worker URL PREFIX BACKEND DURATION STRATEGY...``.
Connects, prints ``ready``, then reads the start time (``time.time()``) from its standard
input, so every worker starts together however long the others took to boot. Prints one
JSON object: for each strategy, ``[sent at, answered at, reset_after]`` per admission and
the number of refusals.
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


async def hammer(limiter: RateLimiter, policy: RateLimitPolicy, until: float) -> dict[str, object]:
    admitted: list[list[float]] = []
    refused = 0

    async def task() -> None:
        nonlocal refused
        while (before := time.time()) < until:
            decision = await limiter.consume("shared", policy)
            if decision.allowed:
                admitted.append([before, time.time(), decision.reset_after])
            else:
                refused += 1

    await asyncio.gather(*(task() for _ in range(CONCURRENCY)))
    return {"admitted": admitted, "refused": refused}


async def main(argv: list[str]) -> None:
    url, prefix, backend, duration, *strategies = argv
    limiter: RateLimiter
    if backend == "redis":
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        await client.ping()  # connected before saying ready
        limiter = RedisRateLimiter(client, prefix=prefix)
    else:
        limiter = InMemoryRateLimiter()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    begin = float(await asyncio.to_thread(sys.stdin.readline))
    results: dict[str, object] = {}
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

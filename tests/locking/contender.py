"""A process competing for one Redis lock (run by the multi-process contention test).

Usage: python -m tests.locking.contender REDIS_URL PREFIX WORKER ROUNDS
Each critical section appends ``enter:<worker>:<token>`` then ``exit:<worker>:<token>`` to
the Redis list ``<PREFIX>log``; with a working lock the list strictly alternates.
"""

from __future__ import annotations

import asyncio
import sys

from redis.asyncio import Redis

from mic.locking import RedisDistributedLock


async def compete(url: str, prefix: str, worker: str, rounds: int) -> None:
    client = Redis.from_url(url)
    locks = RedisDistributedLock(client, prefix=prefix)
    try:
        for _ in range(rounds):
            async with locks.hold("shared", ttl=5, wait=30) as lease:
                await client.rpush(f"{prefix}log", f"enter:{worker}:{lease.fencing_token}")
                # The critical section's work: a window in which a broken lock would let
                # another process in (nothing waits on it; the log shows any overlap).
                await asyncio.sleep(0.002)
                await client.rpush(f"{prefix}log", f"exit:{worker}:{lease.fencing_token}")
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(compete(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))

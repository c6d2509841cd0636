"""`RedisRateLimiter` while its server flushes its scripts, goes down and comes back.

These tests start a private ``redis-server`` on a free loopback port, so ``SCRIPT FLUSH``
and a restart touch nobody else's data; they skip when the binary is not installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from mic.model import TransientError
from mic.ratelimit import RateLimitDecision, RateLimitPolicy, RedisRateLimiter, Strategy
from tests.private_servers import PrivateRedis, running
from tests.support import eventually

pytestmark = pytest.mark.redis


@pytest.fixture
def private_redis(redis_url: str, tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private server (the `redis_url` fixture gates it like every Redis test)."""
    del redis_url
    with running(PrivateRedis, tmp_path) as server:
        yield server


class CountingRedis:
    """Wraps a real client and records every script command sent."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.commands: list[str] = []

    async def evalsha(self, *args: Any) -> Any:
        self.commands.append("EVALSHA")
        return await self.client.evalsha(*args)

    async def eval(self, *args: Any) -> Any:
        self.commands.append("EVAL")
        return await self.client.eval(*args)


@pytest.fixture
async def client(private_redis: PrivateRedis) -> AsyncIterator[Any]:
    """A client of the private server, with short timeouts and no client-side retries."""
    from redis.asyncio import Redis

    redis = Redis(
        host="127.0.0.1",
        port=private_redis.port,
        socket_connect_timeout=1,
        socket_timeout=5,
        retry=None,
    )
    yield redis
    await redis.aclose()


@pytest.mark.parametrize("strategy", list(Strategy))
async def test_script_flush_falls_back_to_eval_and_keeps_the_count(
    client: Any, strategy: Strategy
) -> None:
    counting = CountingRedis(client)
    limiter = RedisRateLimiter(counting, RateLimitPolicy(2, 60, strategy))  # type: ignore[arg-type]
    assert (await limiter.consume("k")).allowed
    await client.script_flush()
    counting.commands.clear()
    assert (await limiter.consume("k")).allowed
    assert not (await limiter.consume("k")).allowed  # the count survived the flush
    assert counting.commands == ["EVALSHA", "EVAL", "EVALSHA"]


async def test_a_restart_fails_as_configured_then_recovers(
    client: Any, private_redis: PrivateRedis
) -> None:
    policy = RateLimitPolicy(2, 60, Strategy.FIXED_WINDOW)
    seen: list[Exception] = []
    closed = RedisRateLimiter(client, policy, on_unavailable=seen.append)
    opened = RedisRateLimiter(client, policy, failure_mode="open")
    assert (await closed.consume("k")).remaining == 1

    private_redis.stop()
    with pytest.raises(TransientError, match="temporarily unavailable") as refused:
        await closed.consume("k")
    assert refused.value.http_status_code == 503
    assert (await opened.consume("k")).allowed
    assert (closed.unavailable_count, opened.unavailable_count, len(seen)) == (1, 1, 1)

    # Back without its data or scripts: the next decision reconnects, answers NOSCRIPT,
    # sends the script with EVAL and counts from zero (the server kept no state).
    private_redis.start()
    decisions: list[RateLimitDecision] = []

    async def answered() -> bool:  # the client may need a moment to notice the new server
        try:
            decisions.append(await closed.consume("k"))
        except TransientError:
            return False
        return True

    await eventually(answered, within=10, what="a decision from the restarted Redis")
    assert (decisions[0].allowed, decisions[0].remaining) == (True, 1)

"""The `locks` fixture: every `DistributedLock` backend in turn (Redis under a unique prefix)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from mic.locking import DistributedLock, InMemoryDistributedLock, RedisDistributedLock
from tests.support import FakeClock, redis_outlived


async def delete_prefix(client: Redis, prefix: str) -> None:
    """Delete every key under `prefix`."""
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[tuple[Redis, str]]:
    """A Redis client and a key prefix unique to the test; its keys are deleted afterwards."""
    client = Redis.from_url(redis_url)
    prefix = f"mic:test:{uuid.uuid4().hex}:"
    try:
        yield client, prefix
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def locks(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[DistributedLock]:
    """Each lock backend (the in-memory one reads `clock`)."""
    if request.param == "memory":
        yield InMemoryDistributedLock(clock=clock)
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"mic:test:{uuid.uuid4().hex}:"
    try:
        yield RedisDistributedLock(client, prefix=prefix)
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    """The in-memory lock's clock, moved by hand."""
    return FakeClock()


@pytest.fixture
def outlive(locks: DistributedLock, clock: FakeClock) -> Callable[[float], Awaitable[None]]:
    """Let every lease of at most `seconds` run out, without sleeping.

    The in-memory lock sees `clock` move; Redis expires keys on its own clock (``PX``): for
    it this polls until no key of the test has that little time left.
    """

    async def outlive(seconds: float) -> None:
        clock.advance(seconds)
        if isinstance(locks, RedisDistributedLock):
            await redis_outlived(locks.client, locks.prefix, seconds)

    return outlive

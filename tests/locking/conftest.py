"""The `locks` fixture: every `DistributedLock` backend in turn (Redis under a unique prefix)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from mic.locking import DistributedLock, InMemoryDistributedLock, RedisDistributedLock


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
async def locks(request: pytest.FixtureRequest) -> AsyncIterator[DistributedLock]:
    """Each lock backend."""
    if request.param == "memory":
        yield InMemoryDistributedLock()
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"mic:test:{uuid.uuid4().hex}:"
    try:
        yield RedisDistributedLock(client, prefix=prefix)
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()

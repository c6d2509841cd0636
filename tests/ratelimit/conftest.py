"""Fixtures for the rate limiter suites: a fake clock and one limiter per backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mic.ratelimit import InMemoryRateLimiter, RateLimiter, RedisRateLimiter


class FakeClock:
    """A clock the test moves by hand; its `sleep` advances it instead of waiting."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fake monotonic clock."""
    return FakeClock()


@pytest.fixture
def key_prefix() -> str:
    """A prefix unique to this test run, so parallel runs and reruns never collide."""
    return f"mic-test:ratelimit:{uuid.uuid4().hex}:"


async def _cleaned_client(url: str, key_prefix: str) -> AsyncIterator[Any]:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    yield client
    keys = [key async for key in client.scan_iter(match=key_prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def redis_client(redis_url: str, key_prefix: str) -> AsyncIterator[Any]:
    """A real Redis client; every key written under `key_prefix` is removed afterwards."""
    async for client in _cleaned_client(redis_url, key_prefix):
        yield client


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(
    request: pytest.FixtureRequest, clock: FakeClock, key_prefix: str
) -> AsyncIterator[RateLimiter]:
    """Each backend in turn: the behaviour suite runs against both."""
    if request.param == "memory":
        yield InMemoryRateLimiter(clock=clock, sleep=clock.sleep)
        return
    async for client in _cleaned_client(request.getfixturevalue("redis_url"), key_prefix):
        yield RedisRateLimiter(client, prefix=key_prefix)

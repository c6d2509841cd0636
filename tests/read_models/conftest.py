"""Every read-model backend for the shared suite: memory and the real Redis (unique prefix)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from mic.read_models import (
    Counter,
    InMemoryCounter,
    InMemoryLeaderboard,
    InMemoryMembershipSet,
    InMemoryTimeline,
    InMemoryUniqueCount,
    Leaderboard,
    MembershipSet,
    Timeline,
    UniqueCount,
)


@dataclass
class Models:
    """A factory of one backend's read models."""

    kind: str
    client: Any = None
    prefix: str = ""

    def timeline(self, name: str = "feed", max_items: int = 3) -> Timeline:
        if self.client is None:
            return InMemoryTimeline(name, max_items=max_items)
        from mic.read_models import RedisTimeline

        return RedisTimeline(self.client, name, max_items=max_items, prefix=self.prefix)

    def counter(self, name: str = "views") -> Counter:
        if self.client is None:
            return InMemoryCounter(name)
        from mic.read_models import RedisCounter

        return RedisCounter(self.client, name, prefix=self.prefix)

    def membership(self, name: str = "members") -> MembershipSet:
        if self.client is None:
            return InMemoryMembershipSet(name)
        from mic.read_models import RedisMembershipSet

        return RedisMembershipSet(self.client, name, prefix=self.prefix)

    def leaderboard(self, name: str = "scores") -> Leaderboard:
        if self.client is None:
            return InMemoryLeaderboard(name)
        from mic.read_models import RedisLeaderboard

        return RedisLeaderboard(self.client, name, prefix=self.prefix)

    def unique(self, name: str = "visitors") -> UniqueCount:
        if self.client is None:
            return InMemoryUniqueCount(name)
        from mic.read_models import RedisUniqueCount

        return RedisUniqueCount(self.client, name, prefix=self.prefix)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def models(request: pytest.FixtureRequest) -> AsyncIterator[Models]:
    """Each backend in turn; Redis keys under a unique prefix, deleted afterwards."""
    if request.param == "memory":
        yield Models("memory")
        return
    import redis.asyncio as redis_asyncio

    client = redis_asyncio.from_url(request.getfixturevalue("redis_url"))
    prefix = f"test:rm:{uuid.uuid4().hex}:*?["  # glob characters: clear must escape them
    try:
        yield Models("redis", client, prefix)
    finally:
        keys = [key async for key in client.scan_iter(match=f"test:rm:{prefix[8:40]}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()

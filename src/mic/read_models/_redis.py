"""Redis read models: sorted sets, counters, sets and HyperLogLogs under one key prefix.

Each read model owns the keys ``<prefix><name>:<key>``; `clear` deletes them with ``SCAN``
(never ``KEYS``, never ``FLUSHDB``). A capped timeline adds and trims in one ``MULTI``, so
no reader sees it above its cap. Requires the ``redis`` extra.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mic._deps import require
from mic._ping import ping_redis
from mic.model import TransientError
from mic.read_models._base import (
    Counter,
    Leaderboard,
    MembershipSet,
    Timeline,
    UniqueCount,
    check_key,
    check_limit,
    check_members,
    check_name,
)
from mic.read_models._memory import _check_score

_GLOB = re.compile(r"([*?\[\]\\])")
DEFAULT_PREFIX = "mic:read-models:"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class _RedisReadModel:
    """Key naming, error translation and `clear`, shared by every Redis read model."""

    name: str

    def __init__(self, client: Any, name: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        require("redis", "redis")
        self.client = client
        self.name = check_name(name)
        self.prefix = prefix
        self._base = f"{prefix}{self.name}:"

    async def ping(self) -> None:
        """``PING`` on this read model's Redis client: the readiness check."""
        await ping_redis(self.client)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._base!r})"

    def key(self, key: str) -> str:
        """The Redis key holding `key`'s value."""
        return self._base + check_key(key)

    @asynccontextmanager
    async def _redis(self) -> AsyncIterator[Any]:
        exceptions = require("redis.exceptions", "redis")
        try:
            yield self.client
        except (exceptions.ConnectionError, exceptions.TimeoutError) as error:
            raise TransientError(
                "read_model_unavailable", "the read model store is not reachable"
            ) from error

    async def clear(self) -> int:
        """Delete every key of this read model (``SCAN`` + ``DEL``); returns how many."""
        pattern = _GLOB.sub(r"\\\1", self._base) + "*"
        deleted = 0
        async with self._redis() as redis:
            batch: list[Any] = []
            async for found in redis.scan_iter(match=pattern, count=500):
                batch.append(found)
                if len(batch) == 500:
                    deleted += int(await redis.delete(*batch))
                    batch = []
            if batch:
                deleted += int(await redis.delete(*batch))
        return deleted


class RedisTimeline(_RedisReadModel, Timeline):
    """`Timeline` on a Redis sorted set per key, trimmed to `max_items` in the same ``MULTI``.

    Args:
        client: A ``redis.asyncio.Redis`` client.
        name: The read model's name.
        max_items: Items kept per key.
        prefix: Key prefix of every read model.

    Raises:
        MissingDependencyError: The ``redis`` extra is not installed.
        ValueError: An invalid name or a `max_items` below 1.
    """

    def __init__(
        self, client: Any, name: str, *, max_items: int = 100, prefix: str = DEFAULT_PREFIX
    ) -> None:
        super().__init__(client, name, prefix=prefix)
        self.max_items = check_limit(max_items)

    async def add(self, key: str, item: str, score: float) -> None:
        """``ZADD`` then ``ZREMRANGEBYRANK`` beyond the cap, atomically."""
        redis_key, member = self.key(key), check_members((item,))[0]
        async with self._redis() as redis, redis.pipeline(transaction=True) as pipe:
            pipe.zadd(redis_key, {member: _check_score(score)})
            pipe.zremrangebyrank(redis_key, 0, -(self.max_items + 1))
            await pipe.execute()

    async def remove(self, key: str, item: str) -> bool:
        """``ZREM``."""
        async with self._redis() as redis:
            return bool(await redis.zrem(self.key(key), item))

    async def latest(self, key: str, limit: int = 20) -> list[tuple[str, float]]:
        """``ZREVRANGE ... WITHSCORES``."""
        async with self._redis() as redis:
            rows = await redis.zrevrange(self.key(key), 0, check_limit(limit) - 1, withscores=True)
        return [(_text(member), float(score)) for member, score in rows]

    async def size(self, key: str) -> int:
        """``ZCARD``."""
        async with self._redis() as redis:
            return int(await redis.zcard(self.key(key)))


class RedisCounter(_RedisReadModel, Counter):
    """`Counter` on ``INCRBY``.

    Args:
        client: A ``redis.asyncio.Redis`` client.
        name: The read model's name.
        prefix: Key prefix of every read model.
    """

    async def increment(self, key: str, by: int = 1) -> int:
        """``INCRBY``."""
        if isinstance(by, bool) or not isinstance(by, int):
            raise TypeError(f"a counter moves by an int, not {type(by).__name__}")
        async with self._redis() as redis:
            return int(await redis.incrby(self.key(key), by))

    async def get(self, key: str) -> int:
        """``GET`` (0 when absent)."""
        async with self._redis() as redis:
            value = await redis.get(self.key(key))
        return 0 if value is None else int(value)

    async def reset(self, key: str) -> None:
        """``DEL``."""
        async with self._redis() as redis:
            await redis.delete(self.key(key))


class RedisMembershipSet(_RedisReadModel, MembershipSet):
    """`MembershipSet` on a Redis set per key.

    Args:
        client: A ``redis.asyncio.Redis`` client.
        name: The read model's name.
        prefix: Key prefix of every read model.
    """

    async def add(self, key: str, *members: str) -> int:
        """``SADD``."""
        redis_key = self.key(key)
        if not check_members(members):
            return 0
        async with self._redis() as redis:
            return int(await redis.sadd(redis_key, *members))

    async def remove(self, key: str, *members: str) -> int:
        """``SREM``."""
        redis_key = self.key(key)
        if not check_members(members):
            return 0
        async with self._redis() as redis:
            return int(await redis.srem(redis_key, *members))

    async def contains(self, key: str, member: str) -> bool:
        """``SISMEMBER``."""
        async with self._redis() as redis:
            return bool(await redis.sismember(self.key(key), member))

    async def members(self, key: str) -> set[str]:
        """``SMEMBERS``."""
        async with self._redis() as redis:
            return {_text(member) for member in await redis.smembers(self.key(key))}

    async def size(self, key: str) -> int:
        """``SCARD``."""
        async with self._redis() as redis:
            return int(await redis.scard(self.key(key)))


class RedisLeaderboard(_RedisReadModel, Leaderboard):
    """`Leaderboard` on a Redis sorted set per key.

    Args:
        client: A ``redis.asyncio.Redis`` client.
        name: The read model's name.
        prefix: Key prefix of every read model.
    """

    async def increment(self, key: str, member: str, by: float = 1.0) -> float:
        """``ZINCRBY``."""
        redis_key, name = self.key(key), check_members((member,))[0]
        async with self._redis() as redis:
            return float(await redis.zincrby(redis_key, _check_score(by), name))

    async def set_score(self, key: str, member: str, score: float) -> None:
        """``ZADD``."""
        redis_key, name = self.key(key), check_members((member,))[0]
        async with self._redis() as redis:
            await redis.zadd(redis_key, {name: _check_score(score)})

    async def top(self, key: str, limit: int = 10) -> list[tuple[str, float]]:
        """``ZREVRANGE ... WITHSCORES``."""
        async with self._redis() as redis:
            rows = await redis.zrevrange(self.key(key), 0, check_limit(limit) - 1, withscores=True)
        return [(_text(member), float(score)) for member, score in rows]

    async def rank(self, key: str, member: str) -> int | None:
        """``ZREVRANK``."""
        async with self._redis() as redis:
            rank = await redis.zrevrank(self.key(key), member)
        return None if rank is None else int(rank)

    async def score(self, key: str, member: str) -> float | None:
        """``ZSCORE``."""
        async with self._redis() as redis:
            score = await redis.zscore(self.key(key), member)
        return None if score is None else float(score)


class RedisUniqueCount(_RedisReadModel, UniqueCount):
    """`UniqueCount` on a HyperLogLog per key (``PFADD`` / ``PFCOUNT``; 0.81 % error).

    Args:
        client: A ``redis.asyncio.Redis`` client.
        name: The read model's name.
        prefix: Key prefix of every read model.
    """

    async def add(self, key: str, *items: str) -> None:
        """``PFADD``."""
        redis_key = self.key(key)
        if not check_members(items):
            return
        async with self._redis() as redis:
            await redis.pfadd(redis_key, *items)

    async def count(self, key: str) -> int:
        """``PFCOUNT``."""
        async with self._redis() as redis:
            return int(await redis.pfcount(self.key(key)))

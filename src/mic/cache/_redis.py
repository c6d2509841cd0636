"""`RedisCache`: a cache shared by processes, values stored as JSON under a key prefix."""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from mic._deps import require
from mic._ping import ping_redis
from mic.cache._base import CacheBackend, check_ttl

if TYPE_CHECKING:
    from redis.asyncio import Redis


_GLOB_SPECIAL = re.compile(r"[\\*?\[\]^-]")


class RedisCache(CacheBackend):
    """A cache on Redis: ``SET key json PX ttl``, keys under `prefix`.

    Args:
        client: A `redis.asyncio.Redis` client.
        prefix: Prepended to every key; `clear` deletes only keys under it.
        default_ttl: TTL when `set` gives none (``None``: no expiry).

    Raises:
        MissingDependencyError: The ``redis`` extra is not installed.
        ValueError: An empty `prefix` (`clear` would empty the whole database) or a bad
            `default_ttl`.
    """

    def __init__(
        self, client: Redis, *, prefix: str = "mic:cache:", default_ttl: float | None = None
    ) -> None:
        require("redis.asyncio", "redis")
        super().__init__()
        if not prefix:
            raise ValueError("prefix must not be empty: clear() deletes every key under it")
        check_ttl(default_ttl)
        self.client = client
        self.prefix = prefix
        self.default_ttl = default_ttl

    async def ping(self) -> None:
        """``PING`` on this cache's Redis client (the readiness check)."""
        await ping_redis(self.client)

    async def get(self, key: str) -> Any:
        """The cached value, or ``None``."""
        raw = await self.client.get(self.prefix + key)
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        """Cache `value` as JSON.

        Raises:
            TypeError: `value` is not JSON-safe.
        """
        if value is None:
            raise ValueError("None cannot be cached (it means 'absent')")
        check_ttl(ttl)
        ttl = self.default_ttl if ttl is None else ttl
        try:
            raw = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"cache value for {key!r} is not JSON-safe: {exc}") from exc
        px = None if ttl is None else max(1, math.ceil(ttl * 1000))
        await self.client.set(self.prefix + key, raw, px=px)

    async def delete(self, key: str) -> bool:
        """Remove `key`."""
        return bool(await self.client.delete(self.prefix + key))

    async def clear(self) -> None:
        """Remove every key under the prefix (SCAN + UNLINK, never KEYS or FLUSHDB)."""
        batch: list[Any] = []
        # The prefix is literal: escape the glob characters of SCAN MATCH, or a prefix such
        # as "app[1]:" would match (and delete) another application's keys.
        pattern = _GLOB_SPECIAL.sub(r"\\\g<0>", self.prefix) + "*"
        async for found in self.client.scan_iter(match=pattern, count=500):
            batch.append(found)
            if len(batch) >= 500:
                await self.client.unlink(*batch)
                batch = []
        if batch:
            await self.client.unlink(*batch)

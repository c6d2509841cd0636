"""`RedisIdempotencyStore`: idempotency records shared by every worker, with server-side TTLs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mic._deps import require
from mic._ping import ping_redis
from mic._redis_script import RedisScript
from mic.idempotency._store import IdempotencyRecord, IdempotencyStore, StoredResponse

if TYPE_CHECKING:
    from redis.asyncio import Redis


# KEYS: record key. ARGV: owner, new value, ttl in ms. Owner check and write in one step.
_COMPLETE = """
local current = redis.call('get', KEYS[1])
if current and cjson.decode(current)['o'] == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
# KEYS: record key. ARGV: owner.
_RELEASE = """
local current = redis.call('get', KEYS[1])
if current and cjson.decode(current)['o'] == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisIdempotencyStore(IdempotencyStore):
    """Records as JSON strings under `prefix`; claims are ``SET NX PX``.

    Args:
        client: A `redis.asyncio.Redis` client.
        prefix: Prepended to every key.

    Raises:
        MissingDependencyError: The ``redis`` extra is not installed.
    """

    def __init__(self, client: Redis, *, prefix: str = "mic:idempotency:") -> None:
        require("redis.asyncio", "redis")
        self.client = client
        self.prefix = prefix
        self._complete = RedisScript(_COMPLETE)
        self._release = RedisScript(_RELEASE)

    async def ping(self) -> None:
        """``PING`` on this store's Redis client: the readiness check."""
        await ping_redis(self.client)

    async def begin(
        self, key: str, fingerprint: str, owner: str, *, lease: float
    ) -> IdempotencyRecord | None:
        """Claim `key` if it is free or expired."""
        value = IdempotencyRecord(fingerprint, owner, None).to_json()
        while True:
            if await self.client.set(self.prefix + key, value, nx=True, px=_ms(lease)):
                return None
            raw = await self.client.get(self.prefix + key)
            if raw is not None:
                return IdempotencyRecord.from_json(raw)
            # It expired between SET and GET: claim again.

    async def complete(self, key: str, owner: str, response: StoredResponse, *, ttl: float) -> bool:
        """Store the response if `owner` still holds the key."""
        current = await self.client.get(self.prefix + key)
        if current is None:
            return False
        record = IdempotencyRecord(IdempotencyRecord.from_json(current).fingerprint, None, response)
        done = await self._complete(
            self.client, [self.prefix + key], [owner, record.to_json(), _ms(ttl)]
        )
        return bool(done)

    async def release(self, key: str, owner: str) -> None:
        """Free the key if `owner` still holds it."""
        await self._release(self.client, [self.prefix + key], [owner])

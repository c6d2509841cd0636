"""`RedisDistributedLock`: locks shared by every process using one Redis server.

Acquire, release and extend are single Lua scripts, so "check the owner, then act" is atomic.
Acquire also increments a per-name counter that never expires: the fencing token. This is a
single-server lock (not Redlock): after a failover a lock may be granted twice, which is what
fencing tokens let storage detect.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING

from mic._deps import require
from mic._ping import ping_redis
from mic._redis_script import RedisScript
from mic.locking._base import DistributedLock, Lease, LockLostError, check_lock_args

if TYPE_CHECKING:
    from redis.asyncio import Redis


# KEYS: lock key, fence key. ARGV: owner, ttl in ms. Returns the new token, or 0 when held.
_ACQUIRE = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('incr', KEYS[2])
end
return 0
"""
# KEYS: lock key. ARGV: owner.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
# KEYS: lock key. ARGV: owner, ttl in ms.
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


def _ms(ttl: float) -> int:
    return max(1, math.ceil(ttl * 1000))


class RedisDistributedLock(DistributedLock):
    """Locks on a Redis server, with fencing tokens from a per-name counter.

    Args:
        client: A `redis.asyncio.Redis` client.
        prefix: Prefix of every key this lock writes (``<prefix>held:<name>`` and
            ``<prefix>fence:<name>``; the fence counter is kept for ever, one small key per
            name, so tokens keep increasing across expirations).

    Raises:
        MissingDependencyError: The ``redis`` extra is not installed.
    """

    def __init__(self, client: Redis, *, prefix: str = "mic:lock:") -> None:
        require("redis.asyncio", "redis")
        self.client = client
        self.prefix = prefix
        self._acquire = RedisScript(_ACQUIRE)
        self._release = RedisScript(_RELEASE)
        self._extend = RedisScript(_EXTEND)

    async def ping(self) -> None:
        """``PING`` on this lock's Redis client: the readiness check."""
        await ping_redis(self.client)

    def _held_key(self, name: str) -> str:
        return f"{self.prefix}held:{name}"

    async def try_acquire(self, name: str, *, ttl: float) -> Lease | None:
        """Take the lock if it is free or expired."""
        check_lock_args(name, ttl)
        owner = secrets.token_hex(16)
        keys = [self._held_key(name), f"{self.prefix}fence:{name}"]
        try:
            token = int(await self._acquire(self.client, keys, [owner, _ms(ttl)]))
        except BaseException:
            # Cancelled (or the connection broke) after Redis may have run the script: the
            # lock could be ours with nobody left to release it. Release it by owner, so it
            # is not blocked for the whole TTL; a no-op when the script never ran.
            await asyncio.shield(self._release_quietly(name, owner))
            raise
        return Lease(name, owner, token, ttl) if token else None

    async def _release_quietly(self, name: str, owner: str) -> None:
        with contextlib.suppress(Exception):  # best effort: the TTL frees it otherwise
            await self._release(self.client, [self._held_key(name)], [owner])

    async def release(self, lease: Lease) -> bool:
        """Free the lock if `lease` still owns it."""
        return bool(await self._release(self.client, [self._held_key(lease.name)], [lease.owner]))

    async def extend(self, lease: Lease, *, ttl: float | None = None) -> Lease:
        """Restart the lease's TTL."""
        new_ttl = lease.ttl if ttl is None else ttl
        check_lock_args(lease.name, new_ttl)
        keys = [self._held_key(lease.name)]
        if not await self._extend(self.client, keys, [lease.owner, _ms(new_ttl)]):
            raise LockLostError(message=f"lock {lease.name!r} is no longer held by this lease")
        return replace(lease, ttl=new_ttl)

"""Distributed locks with TTLs, owner-only release and fencing tokens.

`InMemoryDistributedLock` works within a process; `RedisDistributedLock` (``redis`` extra)
across processes. See docs/cache-locking-idempotency.md.
"""

from mic.locking._base import DistributedLock, Lease, LockLostError, LockNotAcquiredError
from mic.locking._memory import InMemoryDistributedLock
from mic.locking._redis import RedisDistributedLock

__all__ = [
    "DistributedLock",
    "InMemoryDistributedLock",
    "Lease",
    "LockLostError",
    "LockNotAcquiredError",
    "RedisDistributedLock",
]

"""`InMemoryDistributedLock`: the lock contract within one process (tests, single workers)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from mic.locking._base import DistributedLock, Lease, LockLostError, check_lock_args


class InMemoryDistributedLock(DistributedLock):
    """Locks shared by every task and thread of this process.

    Args:
        clock: Monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._mutex = threading.Lock()
        self._held: dict[str, tuple[str, float]] = {}  # name -> (owner, expires at)
        self._tokens: dict[str, int] = {}

    def _owner(self, name: str) -> str | None:
        held = self._held.get(name)
        if held is None or held[1] <= self._clock():
            return None
        return held[0]

    async def try_acquire(self, name: str, *, ttl: float) -> Lease | None:
        """Take the lock if it is free or expired."""
        check_lock_args(name, ttl)
        with self._mutex:
            if self._owner(name) is not None:
                return None
            owner = secrets.token_hex(16)
            token = self._tokens.get(name, 0) + 1
            self._tokens[name] = token
            self._held[name] = (owner, self._clock() + ttl)
        return Lease(name, owner, token, ttl)

    async def release(self, lease: Lease) -> bool:
        """Free the lock if `lease` still owns it."""
        with self._mutex:
            if self._owner(lease.name) != lease.owner:
                return False
            del self._held[lease.name]
            return True

    async def extend(self, lease: Lease, *, ttl: float | None = None) -> Lease:
        """Restart the lease's TTL."""
        new_ttl = lease.ttl if ttl is None else ttl
        check_lock_args(lease.name, new_ttl)
        with self._mutex:
            if self._owner(lease.name) != lease.owner:
                raise LockLostError(message=f"lock {lease.name!r} is no longer held by this lease")
            self._held[lease.name] = (lease.owner, self._clock() + new_ttl)
        return replace(lease, ttl=new_ttl)

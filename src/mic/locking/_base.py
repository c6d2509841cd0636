"""The `DistributedLock` contract: leases with a TTL, owner-only release, fencing tokens.

A lease expires on its own after its TTL, so a crashed holder cannot block others forever;
the price is that a slow holder may lose the lock without noticing. Fencing tokens close that
gap: each acquisition of a name gets a larger token, and a storage that remembers the largest
token it accepted can reject a write from a stale holder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import ClassVar

from mic._checks import check_duration
from mic._waiting import Poller
from mic.model import ConflictError, TransientError

DEFAULT_RETRY_INTERVAL = 0.01
MAX_RETRY_INTERVAL = 0.2


class LockNotAcquiredError(TransientError):
    """The lock stayed held by someone else for the whole timeout (503, retry later)."""

    default_code = "lock_not_acquired"


class LockLostError(ConflictError):
    """The lease expired and the lock is no longer ours (409): stop the guarded work."""

    default_code = "lock_lost"


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof of holding a lock.

    Attributes:
        name: The lock's name.
        owner: Random secret identifying this holder; only it can release or extend.
        fencing_token: Strictly larger than every token issued before for this name; pass
            it along with writes so storage can refuse an older holder's late writes.
        ttl: Seconds the lease lasts from its acquisition or last extension.
    """

    name: str
    owner: str
    fencing_token: int
    ttl: float


MAX_TTL = 10**9
"""Longest lease in seconds (about 31 years): Redis refuses expiries beyond 64-bit milliseconds."""


def check_lock_args(name: str, ttl: float) -> None:
    """Reject an empty name or a TTL that is not a positive, finite number of seconds.

    Raises:
        ValueError: One of them is invalid.
    """
    if not name:
        raise ValueError("a lock name must not be empty")
    check_duration("ttl", ttl, at_most=MAX_TTL)


class DistributedLock(ABC):
    """Named, expiring, exclusive locks; backends differ in how far "distributed" reaches.

    `hold` is the usual entry point::

        async with locks.hold("invoice:42", ttl=10, wait=5) as lease:
            await storage.write(..., fencing_token=lease.fencing_token)

    Waiting polls with backoff (``asyncio.sleep``); it never blocks the event loop.
    """

    probe_name: ClassVar[str] = "lock"
    """Key of this backend in the readiness answer (`mic.healthcheck.ping_probe`)."""

    async def ping(self) -> None:
        """Raise if the backend cannot serve; this in-process one always can.

        `mic.healthcheck.ping_probe` builds the readiness probe from it. Backends on a
        server override it with a cheap round trip on their own client.
        """
        return

    @abstractmethod
    async def try_acquire(self, name: str, *, ttl: float) -> Lease | None:
        """Take the lock if it is free (or expired); ``None`` when someone holds it.

        Raises:
            ValueError: Empty name or non-positive TTL.
        """

    @abstractmethod
    async def release(self, lease: Lease) -> bool:
        """Free the lock if `lease` still owns it; ``False`` when it had already expired."""

    @abstractmethod
    async def extend(self, lease: Lease, *, ttl: float | None = None) -> Lease:
        """Restart the lease's TTL (or set a new one); the fencing token stays the same.

        Raises:
            LockLostError: The lease expired and the lock is gone or held by someone else.
        """

    async def acquire(
        self,
        name: str,
        *,
        ttl: float,
        wait: float | None = None,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
    ) -> Lease:
        """Take the lock, waiting up to `wait` seconds for it (``None``: for ever).

        Raises:
            LockNotAcquiredError: `wait` elapsed (``Retry-After`` is the TTL).
            ValueError: Empty name, bad TTL, negative or NaN `wait`, or a `retry_interval`
                that is not positive.
        """
        check_lock_args(name, ttl)
        check_duration("wait", wait, allow_zero=True, optional=True)
        check_duration("retry_interval", retry_interval, at_most=MAX_RETRY_INTERVAL)
        poller = Poller(
            interval=retry_interval, budget=wait, growth=2.0, max_interval=MAX_RETRY_INTERVAL
        )
        while True:
            lease = await self.try_acquire(name, ttl=ttl)
            if lease is not None:
                return lease
            if not await poller.wait():
                raise LockNotAcquiredError(
                    message=f"lock {name!r} is held by someone else", retry_after=ttl
                )

    @asynccontextmanager
    async def hold(
        self, name: str, *, ttl: float, wait: float | None = None
    ) -> AsyncIterator[Lease]:
        """Hold the lock for the duration of an ``async with`` block, then release it.

        Raises:
            LockNotAcquiredError: The lock could not be taken within `wait` seconds.
        """
        lease = await self.acquire(name, ttl=ttl, wait=wait)
        try:
            yield lease
        finally:
            await self.release(lease)

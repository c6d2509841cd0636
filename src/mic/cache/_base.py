"""The `CacheBackend` contract, get-or-compute with stampede protection, and `@cached`.

Values are JSON-safe (what `json.dumps` accepts). ``None`` means "not cached", so ``None`` is
never stored. Within one process, concurrent misses on one key run a single computation and
share its result (single flight); across processes, combine with a `mic.locking` lock.
"""

from __future__ import annotations

import asyncio
import functools
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, ParamSpec, TypeVar

from mic._checks import check_duration

P = ParamSpec("P")
T = TypeVar("T")


MAX_TTL = 10**9
"""Longest TTL in seconds (about 31 years): Redis refuses expiries beyond 64-bit milliseconds."""


def check_ttl(ttl: float | None) -> None:
    """Reject a TTL that is not a positive, finite number of seconds (at most `MAX_TTL`).

    Raises:
        ValueError: `ttl` is zero, negative, NaN, infinite or larger than `MAX_TTL`; use
            ``None`` for "no expiry".
    """
    check_duration("ttl", ttl, at_most=MAX_TTL, optional=True)


class CacheBackend(ABC):
    """A key/value cache with per-entry TTLs.

    Subclasses implement `get`, `set`, `delete` and `clear`; `get_or_compute` is shared.
    Safe to share between tasks.
    """

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[Any]] = {}
        # key -> (callers reading it right now, computations that landed since): a miss read
        # before a computation stored its value must not start a second one (issue 15).
        # Entries live only while someone reads the key.
        self._reads: dict[str, list[int]] = {}

    probe_name: ClassVar[str] = "cache"
    """Key of this backend in the readiness answer (`mic.healthcheck.ping_probe`)."""

    async def ping(self) -> None:
        """Raise if the backend cannot serve; this in-process one always can.

        `mic.healthcheck.ping_probe` builds the readiness probe from it. Backends on a
        server override it with a cheap round trip on their own client.
        """
        return

    @abstractmethod
    async def get(self, key: str) -> Any:
        """The cached value, or ``None`` when absent or expired."""

    @abstractmethod
    async def set(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        """Cache `value` for `ttl` seconds (``None``: the backend's default).

        Raises:
            ValueError: `value` is ``None`` or `ttl` is not positive.
            TypeError: `value` is not JSON-safe (backends that serialize).
        """

    @abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove `key`; whether it was there."""

    @abstractmethod
    async def clear(self) -> None:
        """Remove every entry of this cache (only this cache's keys on a shared server)."""

    async def get_or_compute(
        self, key: str, compute: Callable[[], Awaitable[T]], *, ttl: float | None = None
    ) -> T:
        """The cached value of `key`, or the result of `compute()` (then cached).

        Concurrent callers missing the same key wait for one computation instead of each
        running it (no stampede). If it raises, every waiter gets the exception and nothing
        is cached. A ``None`` result is returned but not cached.
        """
        while True:
            flight = self._flights.get(key)
            if flight is None:
                value, stale = await self._read(key)
                if value is not None:
                    return value  # type: ignore[no-any-return]
                if stale:
                    continue  # a computation landed while we read: read again
                flight = self._flights.get(key)
            if flight is None:
                return await self._lead(key, compute, ttl)
            try:
                return await asyncio.shield(flight)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not flight.cancelled() or (task is not None and task.cancelling()):
                    raise
                # The leader was cancelled, not us: try again (maybe as the leader).

    async def _read(self, key: str) -> tuple[Any, bool]:
        """The cached value, and whether a computation of `key` landed during the read."""
        reads = self._reads.setdefault(key, [0, 0])
        reads[0] += 1
        landed = reads[1]
        try:
            value = await self.get(key)
        finally:
            reads[0] -= 1
            if not reads[0]:
                del self._reads[key]
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # A client library can finish a command although the task was cancelled meanwhile
            # and drop the CancelledError (redis-py 8 does, now and then): honour it here.
            raise asyncio.CancelledError
        return value, reads[1] != landed

    async def _lead(self, key: str, compute: Callable[[], Awaitable[T]], ttl: float | None) -> T:
        flight: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            value = await compute()
            if value is not None:
                await self.set(key, value, ttl=ttl)
        except asyncio.CancelledError:
            flight.cancel()
            raise
        except BaseException as error:
            flight.set_exception(error)
            flight.exception()  # marks it retrieved: no "never retrieved" log without waiters
            raise
        else:
            flight.set_result(value)
            reads = self._reads.get(key)
            if reads is not None:
                reads[1] += 1
            return value
        finally:
            del self._flights[key]


def cached(
    cache: CacheBackend, *, ttl: float | None = None, key: Callable[..., str] | None = None
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Decorate an async function so its results are cached, with stampede protection.

    Args:
        cache: Where results go.
        ttl: Seconds a result stays cached (``None``: the backend's default).
        key: Builds the cache key from the call's arguments; by default the function's
            qualified name plus the JSON of its arguments.

    Raises:
        TypeError: (at call time) the default key cannot encode an argument as JSON; pass
            `key`.
        ValueError: `ttl` is not positive.
    """
    check_ttl(ttl)

    def decorate(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        prefix = f"{func.__module__}.{func.__qualname__}"

        def default_key(*args: Any, **kwargs: Any) -> str:
            try:
                encoded = json.dumps([args, kwargs], sort_keys=True, separators=(",", ":"))
            except TypeError as exc:
                raise TypeError(f"{prefix}: arguments are not JSON; pass key= to @cached") from exc
            return f"{prefix}:{encoded}"

        make_key = key or default_key

        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return await cache.get_or_compute(
                make_key(*args, **kwargs), lambda: func(*args, **kwargs), ttl=ttl
            )

        return wrapper

    return decorate

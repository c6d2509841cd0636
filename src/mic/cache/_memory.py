"""`InMemoryCache`: TTL and LRU-bounded cache in process memory."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from mic.cache._base import CacheBackend, check_ttl


class InMemoryCache(CacheBackend):
    """A process-local cache: entries expire after their TTL; the least recently used entry
    is evicted once `max_entries` is reached.

    Values are kept as they are (not copied or serialized): do not mutate a cached value.

    Args:
        max_entries: Most entries kept.
        default_ttl: TTL when `set` gives none (``None``: no expiry).
        clock: Monotonic clock in seconds (injectable for tests).

    Raises:
        ValueError: `max_entries` < 1 or a non-positive `default_ttl`.
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        default_ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        check_ttl(default_ttl)
        self.max_entries = max_entries
        self.default_ttl = default_ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[Any, float | None]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Entries held, expired ones included until they are next touched."""
        return len(self._entries)

    async def get(self, key: str) -> Any:
        """The cached value, or ``None``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, expires_at = entry
            if expires_at is not None and expires_at <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    async def set(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        """Cache `value`, evicting the least recently used entry when full."""
        if value is None:
            raise ValueError("None cannot be cached (it means 'absent')")
        check_ttl(ttl)
        ttl = self.default_ttl if ttl is None else ttl
        expires_at = None if ttl is None else self._clock() + ttl
        with self._lock:
            self._entries[key] = (value, expires_at)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    async def delete(self, key: str) -> bool:
        """Remove `key`."""
        with self._lock:
            return self._entries.pop(key, None) is not None

    async def clear(self) -> None:
        """Remove every entry."""
        with self._lock:
            self._entries.clear()

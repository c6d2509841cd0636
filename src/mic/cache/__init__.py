"""Caching: the `CacheBackend` contract, in-memory (TTL + LRU) and Redis backends, `@cached`.

See docs/cache-locking-idempotency.md.
"""

from mic.cache._base import CacheBackend, cached
from mic.cache._memory import InMemoryCache
from mic.cache._redis import RedisCache

__all__ = ["CacheBackend", "InMemoryCache", "RedisCache", "cached"]

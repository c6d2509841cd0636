"""``Idempotency-Key`` support for HTTP routes, with in-memory, Redis and SQL stores.

Put `Idempotency(...)` on `HttpRouteSpec(idempotency=...)`. See
docs/cache-locking-idempotency.md.
"""

from mic.idempotency._interceptor import Idempotency, is_replayable
from mic.idempotency._redis import RedisIdempotencyStore
from mic.idempotency._sql import SqlIdempotencyStore
from mic.idempotency._store import (
    IdempotencyRecord,
    IdempotencyStore,
    InMemoryIdempotencyStore,
    StoredResponse,
)

__all__ = [
    "Idempotency",
    "IdempotencyRecord",
    "IdempotencyStore",
    "InMemoryIdempotencyStore",
    "RedisIdempotencyStore",
    "SqlIdempotencyStore",
    "StoredResponse",
    "is_replayable",
]

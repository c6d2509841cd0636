"""HTTP response caching as a route policy: strong ETags, 304s, single flight, tag invalidation.

``HttpRouteSpec(interceptors=(ResponseCache(ttl=30, tags=("item:{item_id}",)),))`` with a
`ResponseCacheStore` over any `mic.cache` backend (in memory, or Redis to share answers and
invalidations between workers). See docs/response-cache.md.
"""

from mic.response_cache._etag import parse_if_none_match, strong_etag
from mic.response_cache._policy import ResponseCache, ResponseCacheStats
from mic.response_cache._store import CachedResponse, ResponseCacheStore, path_tag

__all__ = [
    "CachedResponse",
    "ResponseCache",
    "ResponseCacheStats",
    "ResponseCacheStore",
    "parse_if_none_match",
    "path_tag",
    "strong_etag",
]

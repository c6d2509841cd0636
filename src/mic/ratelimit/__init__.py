"""Rate limiting that holds across workers: limiters, policies and route-level limits.

`InMemoryRateLimiter` counts in one process; `RedisRateLimiter` (extra ``redis``) shares one
count between every worker, deciding atomically in Redis with the server's clock. `RateLimit`
puts a limit on an HTTP route; a consumer or a job calls ``await limiter.acquire(key)``.
"""

from mic.ratelimit._core import RateLimitDecision, RateLimiter, RateLimitPolicy, Strategy
from mic.ratelimit._http import (
    PerIdentity,
    PerIp,
    PerRoute,
    RateLimit,
    RateLimitKey,
    TrustedProxies,
    per_api_key,
    per_identity,
    per_ip,
    per_route,
)
from mic.ratelimit._memory import InMemoryRateLimiter
from mic.ratelimit._redis import FailureMode, RedisRateLimiter

__all__ = [
    "FailureMode",
    "InMemoryRateLimiter",
    "PerIdentity",
    "PerIp",
    "PerRoute",
    "RateLimit",
    "RateLimitDecision",
    "RateLimitKey",
    "RateLimitPolicy",
    "RateLimiter",
    "RedisRateLimiter",
    "Strategy",
    "TrustedProxies",
    "per_api_key",
    "per_identity",
    "per_ip",
    "per_route",
]

"""The public surface of `mic.ratelimit` is pinned."""

import mic.ratelimit


def test_all_is_pinned() -> None:
    assert sorted(mic.ratelimit.__all__) == [
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
    for name in mic.ratelimit.__all__:
        assert getattr(mic.ratelimit, name) is not None

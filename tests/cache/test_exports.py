"""The public surface of `mic.cache` is pinned."""

import mic.cache


def test_all_is_pinned() -> None:
    assert mic.cache.__all__ == ["CacheBackend", "InMemoryCache", "RedisCache", "cached"]
    for name in mic.cache.__all__:
        assert hasattr(mic.cache, name)

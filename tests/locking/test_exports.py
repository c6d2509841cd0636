"""The public surface of `mic.locking` is pinned."""

import mic.locking


def test_all_is_pinned() -> None:
    assert mic.locking.__all__ == [
        "DistributedLock",
        "InMemoryDistributedLock",
        "Lease",
        "LockLostError",
        "LockNotAcquiredError",
        "RedisDistributedLock",
    ]
    for name in mic.locking.__all__:
        assert hasattr(mic.locking, name)

"""The public surface of `mic.idempotency` is pinned."""

import mic.idempotency


def test_all_is_pinned() -> None:
    assert mic.idempotency.__all__ == [
        "Idempotency",
        "IdempotencyRecord",
        "IdempotencyStore",
        "InMemoryIdempotencyStore",
        "RedisIdempotencyStore",
        "SqlIdempotencyStore",
        "StoredResponse",
        "is_replayable",
    ]
    for name in mic.idempotency.__all__:
        assert hasattr(mic.idempotency, name)

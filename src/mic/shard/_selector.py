"""`ShardSelector`: a tenant or user key to a shard name, by jump consistent hash.

Jump hash (Lamping and Veach, 2014, arXiv:1406.2294) needs no ring and no state: growing
from n to n+1 shards moves only the keys that now belong to the new shard, about 1/(n+1)
of them, where ``hash % n`` would move n/(n+1). Shards are therefore only ever appended.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence

from mic.model import ValidationFailedError

ShardKey = str | int | uuid.UUID
"""What a shard is chosen by: a tenant id, a user id (compared by its text form)."""

_MULTIPLIER = 2862933555777941757
_MASK = (1 << 64) - 1


class ShardKeyMissingError(ValidationFailedError):
    """A record or query lacks the value that chooses its shard (422)."""

    default_code = "shard_key_missing"


def key_hash(key: ShardKey) -> int:
    """A 64-bit hash of `key`, the same in every process and Python version (BLAKE2b).

    Raises:
        ShardKeyMissingError: `key` is ``None``, empty, a bool or another type.
    """
    if key is None or isinstance(key, bool) or not isinstance(key, str | int | uuid.UUID):
        raise ShardKeyMissingError(
            "shard_key_missing", f"a shard key is a str, int or UUID, not {type(key).__name__}"
        )
    text = str(key)
    if not text:
        raise ShardKeyMissingError("shard_key_missing", "the shard key is empty")
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def jump_hash(key: int, buckets: int) -> int:
    """The bucket in ``range(buckets)`` of the 64-bit `key` (jump consistent hash).

    Raises:
        ValueError: `buckets` below 1.
    """
    if buckets < 1:
        raise ValueError("buckets must be >= 1")
    bucket, candidate = -1, 0
    while candidate < buckets:
        bucket = candidate
        key = (key * _MULTIPLIER + 1) & _MASK
        candidate = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


class ShardSelector:
    """Maps keys to shard names; stable across processes and restarts.

    Args:
        shards: Shard names in a fixed order. Add shards only at the end (`with_shard`):
            jump hash then moves only the keys the new shard takes over.

    Raises:
        ValueError: No shard, an empty name or a name twice.
    """

    def __init__(self, shards: Sequence[str]) -> None:
        names = tuple(shards)
        if not names:
            raise ValueError("a shard selector needs at least one shard")
        if any(not isinstance(name, str) or not name for name in names):
            raise ValueError("shard names are non-empty strings")
        if len(set(names)) != len(names):
            raise ValueError(f"shard names must be unique: {list(names)}")
        self.shards = names

    def __repr__(self) -> str:
        return f"ShardSelector({list(self.shards)!r})"

    def index_for(self, key: ShardKey) -> int:
        """The position of `key`'s shard in `shards`.

        Raises:
            ShardKeyMissingError: No usable key.
        """
        return jump_hash(key_hash(key), len(self.shards))

    def shard_for(self, key: ShardKey) -> str:
        """The name of `key`'s shard.

        Raises:
            ShardKeyMissingError: No usable key.
        """
        return self.shards[self.index_for(key)]

    def with_shard(self, name: str) -> ShardSelector:
        """A selector with `name` appended (the keys it takes over: `moved_keys`)."""
        return ShardSelector([*self.shards, name])


def moved_keys(before: ShardSelector, after: ShardSelector, keys: Iterable[ShardKey]) -> float:
    """The fraction of `keys` whose shard differs between two selectors (0.0 for no keys)."""
    total = moved = 0
    for key in keys:
        total += 1
        moved += before.shard_for(key) != after.shard_for(key)
    return moved / total if total else 0.0

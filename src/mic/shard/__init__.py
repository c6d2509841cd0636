"""Application-level sharding: a stable key-to-shard map and storages routed by it.

`ShardSelector` maps a tenant or user key to a shard with jump consistent hashing;
`ShardedDataStorage` routes `DataStorage` calls to the shard named by a model field and
refuses cross-shard operations unless asked for explicitly; `ShardedDatabase` holds one
SQL engine per shard (``sql`` extra). See docs/sharding.md.
"""

from mic.shard._selector import (
    ShardKey,
    ShardKeyMissingError,
    ShardSelector,
    jump_hash,
    key_hash,
    moved_keys,
)
from mic.shard._storage import CrossShardQueryError, ShardedDatabase, ShardedDataStorage

__all__ = [
    "CrossShardQueryError",
    "ShardKey",
    "ShardKeyMissingError",
    "ShardSelector",
    "ShardedDataStorage",
    "ShardedDatabase",
    "jump_hash",
    "key_hash",
    "moved_keys",
]

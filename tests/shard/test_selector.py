"""`ShardSelector`: stable, even, and moving few keys when a shard is added."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

import mic.shard
from mic.shard import ShardKeyMissingError, ShardSelector, jump_hash, key_hash, moved_keys

KEYS = [f"tenant-{n}" for n in range(10_000)]


def test_exports() -> None:
    public = sorted(name for name in vars(mic.shard) if not name.startswith("_"))
    assert public == sorted(mic.shard.__all__)


def test_the_mapping_is_stable_across_processes() -> None:
    """Pinned values: BLAKE2b and jump hash do not depend on PYTHONHASHSEED or the platform."""
    selector = ShardSelector(["a", "b", "c"])
    assert ["a", "b", "b", "a"] == [selector.shard_for(k) for k in ("acme", "globex", 42, "x")]
    assert 0x302657B33C4DA281 == key_hash("acme")
    assert 26 == jump_hash(key_hash("acme"), 1000)
    assert key_hash("42") == key_hash(42)
    assert key_hash(uuid.UUID(int=1)) == key_hash(str(uuid.UUID(int=1)))


def test_keys_spread_evenly() -> None:
    selector = ShardSelector(["a", "b", "c"])
    counts = Counter(selector.shard_for(key) for key in KEYS)
    assert all(abs(count - len(KEYS) / 3) < len(KEYS) * 0.03 for count in counts.values())


def test_adding_a_shard_moves_about_one_key_in_n_plus_one_and_only_to_it() -> None:
    before = ShardSelector(["a", "b", "c"])
    after = before.with_shard("d")
    fraction = moved_keys(before, after, KEYS)
    assert 0.23 < fraction < 0.27  # ideal 1/4; `hash % n` would move 3/4
    assert {"d"} == {after.shard_for(k) for k in KEYS if before.shard_for(k) != after.shard_for(k)}
    modulo = sum(key_hash(k) % 3 != key_hash(k) % 4 for k in KEYS) / len(KEYS)
    assert modulo > 0.7
    assert 0.0 == moved_keys(before, after, [])


def test_jump_hash_with_one_bucket_and_refusals() -> None:
    assert {0} == {jump_hash(key_hash(k), 1) for k in KEYS[:100]}
    with pytest.raises(ValueError, match="buckets must be >= 1"):
        jump_hash(1, 0)


@pytest.mark.parametrize("key", [None, "", True, 1.5, b"x"])
def test_a_missing_or_unusable_key_is_refused(key: object) -> None:
    with pytest.raises(ShardKeyMissingError, match="shard key") as caught:
        ShardSelector(["a"]).shard_for(key)  # type: ignore[arg-type]
    assert 422 == caught.value.http_status_code


@pytest.mark.parametrize(
    ("shards", "match"),
    [([], "at least one shard"), (["a", ""], "non-empty"), (["a", "a"], "unique")],
)
def test_bad_selectors_are_refused(shards: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ShardSelector(shards)


def test_repr() -> None:
    assert "ShardSelector(['a', 'b'])" == repr(ShardSelector(["a", "b"]))

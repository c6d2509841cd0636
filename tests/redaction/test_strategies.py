"""The redaction strategies: drop, mask, partial mask, keyed hash and the default key."""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterator

import pytest

from mic.redaction import (
    DROP,
    HASH_KEY_ENV,
    MASK,
    default_hash_key,
    keyed_hash,
    partial_mask,
    redact_drop,
    redact_hash,
    redact_mask,
    reset_default_hash_key,
)


@pytest.fixture
def fresh_key() -> Iterator[None]:
    reset_default_hash_key()
    yield
    reset_default_hash_key()


def test_drop_returns_the_marker() -> None:
    assert redact_drop("secret") is DROP
    assert repr(DROP) == "DROP"
    assert pickle.loads(pickle.dumps(DROP)) is DROP  # noqa: S301 - our own marker round-trips


def test_mask_has_a_fixed_width() -> None:
    assert redact_mask("a") == MASK
    assert redact_mask("a much longer secret value") == MASK


def test_partial_mask_keeps_the_tail_of_long_values_only() -> None:
    mask = partial_mask(4)
    assert mask("4111111111111234") == MASK + "1234"
    assert mask("12345678") == MASK
    with pytest.raises(ValueError, match="keep_last"):
        partial_mask(0)


def test_keyed_hash_is_stable_per_key_and_differs_across_keys() -> None:
    first = keyed_hash(b"k" * 16)
    second = keyed_hash("another-key-of-16b")
    assert first("alice@example.com") == first("alice@example.com")
    assert first("alice@example.com") != second("alice@example.com")
    assert first("alice@example.com") != first("bob@example.com")
    assert re.fullmatch(r"hmac:[0-9a-f]{32}", first("alice@example.com"))
    assert first(b"bytes") == first("bytes")
    assert first(42) == first("42")


def test_keyed_hash_rejects_short_keys() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        keyed_hash(b"short")


def test_default_key_comes_from_the_environment(
    fresh_key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HASH_KEY_ENV, "shared-secret-for-every-replica")
    assert default_hash_key() == b"shared-secret-for-every-replica"
    assert redact_hash("alice") == keyed_hash("shared-secret-for-every-replica")("alice")


def test_default_key_is_random_per_process_without_the_variable(
    fresh_key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    key = default_hash_key()
    assert len(key) == 32
    assert default_hash_key() is key
    assert redact_hash("alice") == redact_hash("alice")
    reset_default_hash_key()
    assert default_hash_key() != key


def test_default_key_too_short_is_an_error(
    fresh_key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HASH_KEY_ENV, "short")
    with pytest.raises(ValueError, match="at least 16 bytes"):
        redact_hash("alice")

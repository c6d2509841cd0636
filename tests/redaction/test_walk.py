"""The walk copies only what changes, and the cheap secret pre-check never misses a secret."""

from __future__ import annotations

import string
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mic.redaction import REDACTED, RedactionPolicy, keyed_hash, redact_drop
from mic.redaction._text import build_text_pattern, may_hold_secret, scrub_text

HASH = keyed_hash(b"0123456789abcdef")


def test_containers_with_nothing_to_redact_are_returned_as_they_are() -> None:
    policy = RedactionPolicy()
    plain: dict[str, Any] = {"a": [1, "x", {"b": (2.5, None)}], "s": {"t"}, "f": frozenset({1})}
    assert policy.redact(plain) is plain
    assert policy.redact_fields(plain) is plain


def test_only_the_changed_path_is_copied() -> None:
    policy = RedactionPolicy({"email": HASH})
    untouched = {"sku": "A-1"}
    original = {"items": [untouched, {"email": "a@b.c"}], "meta": untouched}
    redacted = policy.redact(original)
    assert redacted == {"items": [untouched, {"email": HASH("a@b.c")}], "meta": untouched}
    assert redacted is not original
    assert redacted["items"] is not original["items"]
    assert redacted["items"][0] is untouched
    assert redacted["meta"] is untouched
    assert original["items"][1] == {"email": "a@b.c"}


def test_tuples_and_sets_are_rebuilt_only_when_changed() -> None:
    policy = RedactionPolicy()
    assert policy.redact(("Bearer abcdefgh", 1)) == ("Bearer [REDACTED]", 1)
    assert policy.redact(frozenset({"Bearer abcdefgh"})) == frozenset({"Bearer [REDACTED]"})
    kept = ("a", 1)
    assert policy.redact(kept) is kept


def test_depth_limit_applies_to_every_container_kind() -> None:
    policy = RedactionPolicy(max_depth=1)
    assert policy.redact({"a": [1], "b": (1,), "c": {1}, "d": {"e": 1}, "f": 2}) == {
        "a": REDACTED,
        "b": REDACTED,
        "c": REDACTED,
        "d": REDACTED,
        "f": 2,
    }


def test_subclasses_and_other_mappings_come_back_as_builtins() -> None:
    class Items(list[Any]):
        pass

    policy = RedactionPolicy()
    assert policy.redact(Items(["token=abc"])) == ["token=[REDACTED]"]
    assert type(policy.redact(Items(["x"]))) is list
    assert policy.redact(MappingProxyType({"password": "p", "k": 1})) == {"k": 1}
    assert policy.redact_fields(MappingProxyType({"password": "p"})) == {}
    ordered = OrderedDict(password="p", k=1)
    assert policy.redact(ordered) == {"k": 1}
    assert ordered == OrderedDict(password="p", k=1)


def test_redact_in_place_writes_only_changes() -> None:
    policy = RedactionPolicy({"email": HASH, "otp": redact_drop})
    nested = {"sku": "A-1"}
    target: dict[str, Any] = {
        "email": "a@b.c",
        "otp": "123456",
        "nested": nested,
        "skip": "token=x",
    }
    policy.redact_in_place(target, {"email", "otp", "nested"})
    assert target == {"email": HASH("a@b.c"), "nested": nested, "skip": "token=x"}
    assert target["nested"] is nested


def test_a_failing_strategy_fails_closed_inside_structures() -> None:
    def broken(value: object) -> object:
        raise RuntimeError(f"cannot handle {value}")

    policy = RedactionPolicy({"email": broken})
    assert policy.redact([{"email": "a@b.c"}]) == [{"email": REDACTED}]


def test_patterns_off_leaves_strings_in_structures() -> None:
    policy = RedactionPolicy(detect_patterns=False)
    value = {"a": ["Bearer abcdefgh"], "b": "token=x"}
    assert policy.redact(value) is value


_PATTERN = build_text_pattern({"password", "token", "apikey"})
_ALPHABET = string.ascii_letters + string.digits + " :=@/.-_\"'\\"


@given(st.text(_ALPHABET, max_size=40))
def test_the_pre_check_never_hides_a_match(text: str) -> None:
    """`may_hold_secret` is only an optimization: when it says no, the pattern finds nothing."""
    if not may_hold_secret(text):
        assert _PATTERN.search(text) is None
        assert scrub_text(text, _PATTERN, lambda name, raw: REDACTED) is text


@given(st.sampled_from(["Bearer", "bearer", "BEARER", "Basic"]), st.text("abcXYZ019", min_size=1))
def test_the_pre_check_sees_every_scheme(scheme: str, token: str) -> None:
    assert may_hold_secret(f"{scheme} {token}")
    assert RedactionPolicy().scrub_text(f"{scheme} {token}") == f"{scheme} {REDACTED}"


def test_subclasses_of_scalars_and_collections_take_the_general_path() -> None:
    class Text(str):
        __slots__ = ()

    class Pair(tuple[Any, ...]):
        __slots__ = ()

    class Tags(set[Any]):
        pass

    class Frozen(frozenset[Any]):
        __slots__ = ()

    class Level(Enum):
        HIGH = "token=abc"

    policy = RedactionPolicy()
    assert policy.redact(Text("token=abc")) == "token=[REDACTED]"
    assert policy.redact(Level.HIGH) is Level.HIGH
    assert policy.redact(Pair(("token=abc",))) == ("token=[REDACTED]",)
    assert policy.redact(Tags({"token=abc"})) == {"token=[REDACTED]"}
    assert policy.redact(Frozen({"x"})) == frozenset({"x"})


def test_beyond_the_depth_limit_only_safe_scalars_survive() -> None:
    class Level(Enum):
        LOW = 1

    @dataclass
    class Box:
        value: int

    policy = RedactionPolicy(max_depth=1)
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    assert policy.redact({"a": Level.LOW, "b": moment, "c": Box(1), "d": Decimal(1)}) == {
        "a": Level.LOW,
        "b": moment,
        "c": REDACTED,
        "d": Decimal(1),
    }


@given(
    key=st.binary(min_size=16, max_size=200), value=st.one_of(st.text(), st.binary(), st.integers())
)
def test_keyed_hash_is_exactly_truncated_hmac_sha256(key: bytes, value: object) -> None:
    """The precomputed-state HMAC answers what the standard library's HMAC answers."""
    import hmac as stdlib_hmac

    from mic.redaction import keyed_hash

    data = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
    expected = "hmac:" + stdlib_hmac.digest(key, data, "sha256")[:16].hex()
    assert expected == keyed_hash(key)(value)

"""Redaction under hostile inputs: long texts, cycles, odd containers, secrets in odd places.

Regression tests of the issue 6 review: each input here used to hang, raise or leak.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel, Field

from mic.redaction import REDACTED, RedactionPolicy, redact_drop, redact_mask

SECRET = "hunter2-SECRET"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "text",
    [
        "a." * 50_000 + "=",  # dotted key prefix: was 43 s for 40 kB
        "a" * 100_000 + ":",  # URL scheme
        "eyJ" * 30_000 + ":",  # JWT
        'password="' * 10_000,  # unterminated quotes
        "'," * 50_000,  # quoted pair separators
    ],
    ids=["dots", "letters", "jwt", "quotes", "pairs"],
)
def test_scanning_a_long_text_takes_linear_time(text: str) -> None:
    started = time.perf_counter()
    RedactionPolicy().scrub_text(text)
    # Linear scanning takes well under a second here; the quadratic pattern took minutes.
    assert time.perf_counter() - started < 10


@pytest.mark.timeout(60)
def test_a_structure_referring_to_itself_twice_ends_promptly() -> None:
    """2**max_depth paths used to be walked before every one reached the limit."""
    cyclic: dict[str, Any] = {"name": "n"}
    cyclic["left"] = cyclic
    cyclic["right"] = [cyclic, cyclic]
    started = time.perf_counter()
    redacted = RedactionPolicy().redact(cyclic)
    assert time.perf_counter() - started < 10
    assert redacted == {"name": "n", "left": REDACTED, "right": REDACTED}


def test_too_deep_fails_closed_per_top_level_entry() -> None:
    deep: Any = f"password={SECRET}"
    for _ in range(50):
        deep = [deep]
    policy = RedactionPolicy(max_depth=10)
    assert policy.redact([deep, "ok"]) == [REDACTED, "ok"]
    assert policy.redact((deep, "ok")) == (REDACTED, "ok")
    assert policy.redact_fields({"deep": deep, "ok": 1}) == {"deep": REDACTED, "ok": 1}
    assert policy.redact_field("deep", deep) == [REDACTED]
    target = {"deep": deep, "password": SECRET, "ok": 1}
    policy.redact_in_place(target, ("deep", "password", "ok"))
    assert target == {"deep": REDACTED, "ok": 1}


def test_nesting_beyond_the_interpreter_stack_fails_closed() -> None:
    deep: Any = SECRET
    for _ in range(5000):
        deep = [deep]
    assert RedactionPolicy(max_depth=100_000).redact({"deep": deep}) == {"deep": REDACTED}


class _BrokenMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("cannot iterate")

    def __len__(self) -> int:
        return 1


def test_an_object_whose_walk_raises_is_redacted_not_raised() -> None:
    policy = RedactionPolicy()
    assert policy.redact(_BrokenMapping()) == REDACTED
    assert policy.redact({"a": _BrokenMapping(), "b": "x"}) == {"a": REDACTED, "b": "x"}
    assert policy.redact([_BrokenMapping(), 1]) == [REDACTED, 1]


@dataclass(frozen=True)
class _Login:
    password: str


@dataclass(slots=True)
class _Slotted:
    password: str
    note: str = "n"
    late: str = field(init=False)


def test_set_of_dataclasses_comes_back_as_a_list() -> None:
    """Redacted items may be unhashable dicts: a set cannot hold them."""
    assert RedactionPolicy().redact({_Login(SECRET)}) == [{}]
    assert RedactionPolicy().redact(frozenset({_Login(SECRET)})) == [{}]


def test_unset_slotted_dataclass_fields_are_skipped() -> None:
    assert RedactionPolicy().redact(_Slotted(SECRET)) == {"note": "n"}


class _Wire(BaseModel):
    model_config = {"populate_by_name": True}

    secret_value: str = Field(alias="password")
    shown: str = Field(serialization_alias="apiKey")
    note: str = "n"


def test_pydantic_fields_are_sensitive_by_alias_too() -> None:
    policy = RedactionPolicy({"apikey": redact_mask})
    model = _Wire(password=SECRET, shown=SECRET)
    assert policy.redact(model) == {"shown": "****", "note": "n"}
    assert policy.redact({"m": model}) == {"m": {"shown": "****", "note": "n"}}


def test_pydantic_model_with_unset_fields() -> None:
    model = _Wire.model_construct(note="n")
    assert RedactionPolicy().redact(model) == {"note": "n"}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Authorization", SECRET)], [("Authorization", REDACTED)]),
        ([(b"authorization", SECRET.encode())], [(b"authorization", REDACTED)]),
        ([["Cookie", SECRET], ["Accept", "*/*"]], [["Cookie", REDACTED], ["Accept", "*/*"]]),
        ((("X-Api-Key", SECRET),), (("X-Api-Key", REDACTED),)),
        ([("Accept", "text/plain")], [("Accept", "text/plain")]),
    ],
)
def test_header_pairs_are_redacted_by_their_name(headers: Any, expected: Any) -> None:
    assert RedactionPolicy().redact({"headers": headers}) == {"headers": expected}


def test_header_pairs_in_text_are_redacted() -> None:
    policy = RedactionPolicy()
    text = str([("authorization", SECRET), (b"cookie", SECRET.encode()), ("accept", "x")])
    scrubbed = policy.scrub_text(text)
    assert SECRET not in scrubbed
    assert "('accept', 'x')" in scrubbed
    assert SECRET not in policy.scrub_text(f'["token", "{SECRET}"]')


def test_bytes_names_and_non_utf8_bytes() -> None:
    policy = RedactionPolicy()
    assert policy.redact({b"password": SECRET, b"id": 1}) == {b"id": 1}
    raw = b"\xff\xfe token=" + SECRET.encode() + b" \xff"
    assert policy.redact(raw) == b"\xff\xfe token=[REDACTED] \xff"


def test_a_strategy_answering_beyond_latin1_in_latin1_bytes_fails_closed() -> None:
    policy = RedactionPolicy({"token": lambda _value: "\u2603"})
    assert policy.redact(b"\xff token=abc") == REDACTED


def test_jwt_split_across_fields() -> None:
    header, payload, signature = "eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiIxIn0", "c2lnbmF0dXJl"
    redacted = RedactionPolicy().redact({"a": header, "b": f"{payload}.{signature}"})
    assert signature not in str(redacted)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'password="{SECRET}', f'password="{REDACTED}'),
        (f"token='{SECRET} and the rest", f"token='{REDACTED}"),
        (f"Authorization: Token {SECRET}", f"Authorization: {REDACTED}"),
        (f"Authorization: Negotiate {SECRET}, next", f"Authorization: {REDACTED}, next"),
        (f"password=abc {SECRET}", f"password={REDACTED} {SECRET}"),  # bare: up to a space
        # A capitalized bare value is not a scheme whose credentials may be quoted.
        (
            f"E(data=' token=Abc ', password='{SECRET}')",
            f"E(data=' token={REDACTED} ', password='{REDACTED}')",
        ),
    ],
)
def test_text_values(text: str, expected: str) -> None:
    assert RedactionPolicy().scrub_text(text) == expected


def test_list_indices_never_fill_the_name_memo() -> None:
    policy = RedactionPolicy({"email": redact_drop})
    policy.redact(list(range(10_000)))
    assert policy.redact({"email": "e"}) == {}
    assert policy.strategy_for("email") is redact_drop

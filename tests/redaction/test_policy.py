"""RedactionPolicy: recursive, case- and separator-insensitive field matching, and patterns."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, ConfigDict

from mic.redaction import (
    DROP,
    MASK,
    REDACTED,
    RedactionPolicy,
    keyed_hash,
    normalize_field_name,
    redact_drop,
    redact_mask,
)

HASH = keyed_hash(b"0123456789abcdef")


class Address(BaseModel):
    street: str
    access_token: str


class Customer(BaseModel):
    model_config = ConfigDict(extra="allow")
    email: str
    address: Address


@dataclass
class Login:
    user: str
    password: str


Pair = namedtuple("Pair", ["name", "secret"])


@pytest.mark.parametrize("name", ["accessToken", "access_token", "Access-Token", "ACCESS.TOKEN"])
def test_names_match_whatever_the_case_and_separators(name: str) -> None:
    assert normalize_field_name(name) == "accesstoken"
    policy = RedactionPolicy({"access_token": redact_mask}, secret_defaults=False)
    assert policy.redact({name: "t0k"}) == {name: MASK}


def test_nested_structures_are_walked_and_input_is_untouched() -> None:
    policy = RedactionPolicy({"email": HASH})
    original = {"a": [{"email": "x@y.z"}, ("keep", {"password": "p"})], "s": {"token": "t"}}
    redacted = policy.redact(original)
    assert redacted == {"a": [{"email": HASH("x@y.z")}, ("keep", {})], "s": {}}
    assert original["a"][0] == {"email": "x@y.z"}


def test_models_dataclasses_and_named_tuples_become_dicts() -> None:
    policy = RedactionPolicy({"email": redact_mask, "secret": redact_drop})
    customer = Customer(email="a@b.c", address=Address(street="Main", access_token="t"), vip="y")
    assert policy.redact(customer) == {"email": MASK, "address": {"street": "Main"}, "vip": "y"}
    assert policy.redact(Login("bob", "pw")) == {"user": "bob"}
    assert policy.redact(Pair("n", "s")) == {"name": "n"}


def test_sets_keep_their_type() -> None:
    policy = RedactionPolicy()
    assert policy.redact({"a", "Bearer abcdefgh"}) == {"a", "Bearer [REDACTED]"}
    assert policy.redact(frozenset({"a"})) == frozenset({"a"})


def test_scalars_pass_through() -> None:
    policy = RedactionPolicy()
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    values: list[Any] = [None, 1, 1.5, True, moment, UUID(int=1)]
    assert policy.redact(values) == values


def test_secret_defaults_can_be_turned_off() -> None:
    assert RedactionPolicy().redact({"password": "p"}) == {}
    assert RedactionPolicy(secret_defaults=False).redact({"password": "p"}) == {"password": "p"}


def test_own_strategy_overrides_a_default_name() -> None:
    policy = RedactionPolicy({"token": redact_mask})
    assert policy.redact({"token": "t"}) == {"token": MASK}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: [REDACTED]"),
        ("header bearer abcdefgh end", "header bearer [REDACTED] end"),
        ("basic Basic dXNlcjpwYXNz", "basic Basic [REDACTED]"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_x ok", "jwt [REDACTED] ok"),
        ("dsn postgres://app:p@ss@w0rd@db:5432/x", "dsn postgres://app:[REDACTED]@db:5432/x"),
        ("url=https://u:pw@host/path?q=a@b", "url=https://u:[REDACTED]@host/path?q=a@b"),
        ("password=hunter2 next", "password=[REDACTED] next"),
        ("{'password': 'two words'}", "{'password': '[REDACTED]'}"),
        ('{"token": "x\\"y"}', '{"token": "[REDACTED]"}'),
        ('{\\"secret\\": \\"abc\\"}', '{\\"secret\\": \\"[REDACTED]\\"}'),
        ("https://host:8080/path", "https://host:8080/path"),
        ("nothing to see", "nothing to see"),
        ("ratio: 3:2", "ratio: 3:2"),
    ],
)
def test_patterns_in_text(text: str, expected: str) -> None:
    assert RedactionPolicy().scrub_text(text) == expected


def test_text_fields_use_the_field_strategy_once() -> None:
    policy = RedactionPolicy({"email": HASH})
    hashed = HASH("a@b.c")
    assert policy.scrub_text("email=a@b.c") == f"email={hashed}"
    assert policy.scrub_text(f"email={hashed}") == f"email={hashed}"


def test_patterns_can_be_turned_off() -> None:
    policy = RedactionPolicy(detect_patterns=False)
    assert policy.scrub_text("Bearer abcdefgh") == "Bearer abcdefgh"
    assert policy.redact(["Bearer abcdefgh"]) == ["Bearer abcdefgh"]
    assert not policy.holds_secret("Bearer abcdefgh")


def test_holds_secret() -> None:
    policy = RedactionPolicy()
    assert policy.holds_secret("Bearer abcdefgh")
    assert not policy.holds_secret("2xx")
    assert not policy.holds_secret("GET: /items")


def test_bytes_are_scanned_when_they_decode() -> None:
    policy = RedactionPolicy()
    assert policy.redact(b"Bearer abcdefgh") == b"Bearer [REDACTED]"
    assert policy.redact(b"plain") == b"plain"
    assert policy.redact(b"\xff\xfe") == b"\xff\xfe"


class _Opaque:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


class _Broken:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_other_objects_are_checked_through_their_text() -> None:
    policy = RedactionPolicy()
    plain = _Opaque("plain")
    assert policy.redact(plain) is plain
    assert policy.redact(_Opaque("token=abc")) == "token=[REDACTED]"
    assert policy.redact(_Broken()) == REDACTED
    assert RedactionPolicy(detect_patterns=False).redact(plain) is plain


def test_a_failing_strategy_fails_closed() -> None:
    def broken(value: object) -> object:
        raise RuntimeError(f"cannot handle {value}")

    policy = RedactionPolicy({"email": broken})
    assert policy.redact({"email": "a@b.c"}) == {"email": REDACTED}
    assert policy.scrub_text("email=a@b.c") == f"email={REDACTED}"


def test_dropped_field_in_text_becomes_placeholder() -> None:
    assert RedactionPolicy().scrub_text("token: abc") == f"token: {REDACTED}"


def test_depth_limit_ends_cycles() -> None:
    """The top-level entry holding a too-deep (here cyclic) part becomes REDACTED; the rest stays."""
    cyclic: dict[str, Any] = {"name": "n"}
    cyclic["self"] = cyclic
    redacted = RedactionPolicy(max_depth=3).redact(cyclic)
    assert redacted == {"name": "n", "self": REDACTED}


def test_redact_field_and_strategy_lookup() -> None:
    policy = RedactionPolicy({"email": redact_drop})
    assert policy.redact_field("E-Mail", "x") is DROP
    assert policy.redact_field("other", {"email": "x"}) == {}
    assert policy.strategy_for("EMAIL") is redact_drop
    assert policy.strategy_for("name") is None
    assert policy.is_sensitive("e_mail")


def test_non_string_keys_are_walked_by_value() -> None:
    assert RedactionPolicy().redact({1: "Bearer abcdefgh"}) == {1: "Bearer [REDACTED]"}


def test_with_fields_adds_strategies() -> None:
    base = RedactionPolicy({"email": redact_mask})
    more = base.with_fields({"phone": redact_drop})
    assert more.redact({"email": "e", "phone": "p"}) == {"email": MASK}
    assert base.redact({"phone": "p"}) == {"phone": "p"}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_depth": 0}, ValueError, "max_depth"),
        ({"redactors": {"email": "nope"}}, TypeError, "not callable"),
        ({"redactors": {"--": redact_drop}}, ValueError, "no letters"),
        ({"redactors": {"e_mail": redact_drop, "EMail": redact_mask}}, ValueError, "same names"),
    ],
)
def test_invalid_policies(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        RedactionPolicy(**kwargs)


def test_dotted_names_match_by_last_segment() -> None:
    policy = RedactionPolicy({"db.statement": redact_drop})
    assert policy.is_sensitive("db.statement")
    assert policy.is_sensitive("http.request.header.authorization")
    assert not policy.is_sensitive("statement")
    assert policy.redact({"user.password": "p", "user.name": "n"}) == {"user.name": "n"}

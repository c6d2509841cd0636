"""sanitize_payload with per-topic policies (the spec's events example)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from mic.outbox import TopicRedactionPolicy, redact_drop, redact_hash, sanitize_payload
from mic.redaction import MASK, RedactionPolicy, redact_mask

POLICY = TopicRedactionPolicy(
    default={"otp_code": redact_drop},
    per_topic={"application.received": {"email": redact_hash}},
)


def test_spec_example() -> None:
    event = {"topic": "application.received", "email": "a@b.c", "otp_code": "123456", "n": 1}
    safe = sanitize_payload(event, policy=POLICY)
    assert safe == {"topic": "application.received", "email": redact_hash("a@b.c"), "n": 1}
    assert event["otp_code"] == "123456"


def test_default_applies_to_other_topics() -> None:
    safe = sanitize_payload({"email": "a@b.c", "otpCode": "1"}, policy=POLICY, topic="other")
    assert safe == {"email": "a@b.c"}


@dataclass
class Event:
    topic: str
    payload: dict[str, Any]


def test_topic_is_read_from_an_event_object() -> None:
    event = Event("application.received", {"email": "a@b.c", "token": "t"})
    assert sanitize_payload(event, policy=POLICY) == {
        "topic": "application.received",
        "payload": {"email": redact_hash("a@b.c")},
    }


def test_explicit_topic_wins_and_unknown_topic_uses_default() -> None:
    event = {"topic": "application.received", "email": "a@b.c"}
    assert sanitize_payload(event, policy=POLICY, topic="x") == event
    assert sanitize_payload({"topic": 3, "email": "e"}, policy=POLICY) == {"topic": 3, "email": "e"}


def test_plain_policy_is_accepted() -> None:
    policy = RedactionPolicy({"email": redact_mask})
    assert sanitize_payload([{"email": "e"}], policy=policy) == [{"email": MASK}]


def test_empty_topic_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty topic"):
        TopicRedactionPolicy(per_topic={"": {"email": redact_drop}})


def test_policy_for() -> None:
    assert POLICY.policy_for(None).is_sensitive("otp_code")
    assert not POLICY.policy_for(None).is_sensitive("email")
    assert POLICY.policy_for("application.received").is_sensitive("email")

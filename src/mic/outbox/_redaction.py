"""Event redaction for the outbox: a per-topic policy applied before a row is stored.

The strategies are the shared ones from `mic.redaction`, so an event, a log line and a span
about the same customer carry the same keyed hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mic.redaction import (
    FieldRedactors,
    RedactionPolicy,
    Redactor,
    redact_drop,
    redact_hash,
    redact_mask,
)

__all__ = [
    "FieldRedactors",
    "TopicRedactionPolicy",
    "redact_drop",
    "redact_hash",
    "redact_mask",
    "sanitize_payload",
]


@dataclass(frozen=True, slots=True)
class TopicRedactionPolicy:
    """Field strategies for events: a default set plus per-topic additions.

    Attributes:
        default: Strategies applied to every topic.
        per_topic: Topic name to strategies added to (and overriding) `default`.
        secret_defaults: Also drop the usual secret names (see `mic.redaction`).
        detect_patterns: Also redact bearer tokens, JWTs and URL passwords in strings.
    """

    default: Mapping[str, Redactor] = field(default_factory=dict)
    per_topic: Mapping[str, Mapping[str, Redactor]] = field(default_factory=dict)
    secret_defaults: bool = True
    detect_patterns: bool = True
    _base: RedactionPolicy = field(init=False, repr=False, compare=False)
    _topics: dict[str, RedactionPolicy] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base = RedactionPolicy(
            redactors=self.default,
            secret_defaults=self.secret_defaults,
            detect_patterns=self.detect_patterns,
        )
        topics: dict[str, RedactionPolicy] = {}
        for topic, redactors in self.per_topic.items():
            if not topic:
                raise ValueError("per_topic has an empty topic name")
            topics[topic] = base.with_fields(redactors)
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_topics", topics)

    def policy_for(self, topic: str | None) -> RedactionPolicy:
        """The policy applied to events of `topic` (the default one for unknown topics)."""
        if topic is None:
            return self._base
        return self._topics.get(topic, self._base)


def _topic_of(event: Any) -> str | None:
    topic = event.get("topic") if isinstance(event, Mapping) else getattr(event, "topic", None)
    return topic if isinstance(topic, str) else None


def sanitize_payload(
    event: Any,
    *,
    policy: TopicRedactionPolicy | RedactionPolicy,
    topic: str | None = None,
) -> Any:
    """`event` with its sensitive fields redacted, ready to be stored or published.

    Unchanged parts (or `event` itself, when nothing was redacted) are shared with the input,
    so treat the result as read-only.

    Args:
        event: A mapping, pydantic model, dataclass or list (models and dataclasses come
            back as ``dict``). The input is never modified.
        policy: A `TopicRedactionPolicy` (per-topic strategies) or a plain `RedactionPolicy`.
        topic: The event's topic; when omitted, read from the event's ``topic`` key or
            attribute, else the default strategies apply.
    """
    if isinstance(policy, TopicRedactionPolicy):
        chosen = policy.policy_for(topic if topic is not None else _topic_of(event))
    else:
        chosen = policy
    return chosen.redact(event)

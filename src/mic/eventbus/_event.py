"""The `Event` envelope: what every bus carries and every outbox row stores.

An event is a topic, a JSON-safe payload and the metadata that follows a request across
services: its id (the idempotency key of consumers), when it happened, the correlation id
and the W3C ``traceparent`` and ``tracestate`` (of the current span, or from `mic.context`,
when not given), and free headers.
"""

from __future__ import annotations

import contextvars
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mic import context
from mic._trace import trace_headers

MAX_TOPIC_LENGTH = 200
MAX_ID_LENGTH = 200
DEAD_LETTER_SUFFIX = ".dead-letter"

# Dot-separated tokens: valid as a NATS subject and as a Redis key suffix alike, and free of
# wildcards (``*``, ``>``) so a topic never subscribes to more than itself.
_TOPIC = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
# Ids travel in NATS headers (``Nats-Msg-Id``) and PostgreSQL text columns: no control
# characters (CR/LF would end a header line; PostgreSQL refuses NUL).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_topic(topic: object) -> str:
    """`topic` when it is a valid topic name.

    Raises:
        ValueError: Not dot-separated tokens of letters, digits, ``-`` and ``_`` (at most
            200 characters).
    """
    if not isinstance(topic, str) or len(topic) > MAX_TOPIC_LENGTH or not _TOPIC.fullmatch(topic):
        raise ValueError(
            f"invalid topic {topic!r}: use dot-separated tokens of letters, digits, '-' and '_'"
        )
    return topic


def dead_letter_topic(topic: str) -> str:
    """The topic where events of `topic` go after their last failed attempt."""
    return topic + DEAD_LETTER_SUFFIX


def _check_payload(payload: Any) -> None:
    """Raise `TypeError` unless `payload` is a dict that survives a JSON round trip."""
    if not isinstance(payload, dict):
        raise TypeError(f"payload must be a dict, not {type(payload).__name__}")
    try:
        _check_json(payload, "payload")
    except RecursionError:
        raise TypeError("payload is nested too deeply to be encoded as JSON") from None


def _check_optional_text(name: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a string or None, not {type(value).__name__}")


def _check_json(value: Any, path: str) -> None:
    """Raise `TypeError` unless `value` survives a JSON round trip unchanged."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{path} is {value!r}: JSON has no NaN or infinity")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path} has a non-string key {key!r}")
            _check_json(item, f"{path}.{key}")
        return
    raise TypeError(f"{path} is a {type(value).__name__}, which is not JSON-safe")


def _new_id() -> str:
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Event:
    """An event envelope.

    Attributes:
        topic: Dot-separated name (``orders.created``); see `check_topic`.
        payload: JSON-safe dict (str keys; str, int, float, bool, None, list, dict values).
            Tuples, sets, dates and NaN are refused so every backend returns what was sent.
        id: Unique id (default: a random UUID); consumers deduplicate on it.
        occurred_at: When it happened (timezone-aware; default now, UTC).
        correlation_id: Default: `mic.context.correlation_id` at construction.
        traceparent: Default: the current OpenTelemetry span at construction when there is
            one, else `mic.context.traceparent` (what the request or event arrived with).
        tracestate: W3C ``tracestate`` going with `traceparent`; defaulted with it.
        headers: Extra string metadata; names starting with ``mic-`` are set by the toolkit.

    Raises:
        ValueError: An invalid topic, an empty or oversized id or one with control
            characters, a naive `occurred_at`.
        TypeError: A payload or header that is not JSON-safe / not strings (or nested too
            deeply), an `occurred_at` that is not a datetime, a non-string
            `correlation_id`, `traceparent` or `tracestate`.
    """

    topic: str
    payload: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=_new_id)
    occurred_at: datetime = field(default_factory=_now)
    correlation_id: str | None = None
    traceparent: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    tracestate: str | None = None

    def __post_init__(self) -> None:
        check_topic(self.topic)
        _check_payload(self.payload)
        if (
            not isinstance(self.id, str)
            or not 0 < len(self.id) <= MAX_ID_LENGTH
            or _CONTROL.search(self.id)
        ):
            raise ValueError(
                f"event id must be a non-empty string of at most {MAX_ID_LENGTH} characters "
                "without control characters"
            )
        if not isinstance(self.occurred_at, datetime):
            raise TypeError(
                f"occurred_at must be a datetime, not {type(self.occurred_at).__name__}"
            )
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        _check_optional_text("correlation_id", self.correlation_id)
        _check_optional_text("traceparent", self.traceparent)
        _check_optional_text("tracestate", self.tracestate)
        if not isinstance(self.headers, Mapping):
            raise TypeError(f"headers must be a mapping, not {type(self.headers).__name__}")
        for name, value in self.headers.items():
            if not isinstance(name, str) or not name or not isinstance(value, str):
                raise TypeError(f"header {name!r} must be a non-empty name with a string value")
        if self.correlation_id is None:
            object.__setattr__(self, "correlation_id", context.correlation_id.get())
        if self.traceparent is None:
            current = trace_headers()
            object.__setattr__(self, "traceparent", current.get("traceparent"))
            if self.tracestate is None:
                object.__setattr__(self, "tracestate", current.get("tracestate"))

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-safe data (``occurred_at`` in ISO 8601)."""
        return {
            "id": self.id,
            "topic": self.topic,
            "payload": self.payload,
            "occurred_at": self.occurred_at.isoformat(),
            "correlation_id": self.correlation_id,
            "traceparent": self.traceparent,
            "tracestate": self.tracestate,
            "headers": dict(self.headers),
        }

    def encode(self) -> str:
        """The event as compact JSON text (what the buses and the outbox store)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """The event `to_dict` produced.

        The correlation id and trace context are taken from `data` only, never from the
        current context, so decoding inside a handler cannot mix two requests up.

        Raises:
            ValueError: `data` is not a valid event.
        """
        try:
            return contextvars.Context().run(cls._build, data)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as error:
            raise ValueError(f"not a valid event: {error}") from error

    @classmethod
    def _build(cls, data: Mapping[str, Any]) -> Event:
        return cls(
            topic=data["topic"],
            payload=data["payload"],
            id=data["id"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            correlation_id=data.get("correlation_id"),
            traceparent=data.get("traceparent"),
            headers=data.get("headers") or {},
            tracestate=data.get("tracestate"),
        )

    @classmethod
    def decode(cls, data: str | bytes) -> Event:
        """The event `encode` produced.

        Raises:
            ValueError: `data` is not JSON or not a valid event.
        """
        try:
            parsed = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            # A foreign producer's deeply nested JSON must be an undecodable message (dead
            # letter), never an error that stops a consumer.
            raise ValueError(f"not a valid event: {error}") from error
        if not isinstance(parsed, dict):
            raise ValueError("not a valid event: expected a JSON object")  # noqa: TRY004 (one error type for bad input)
        return cls.from_dict(parsed)

"""The `Event` envelope: defaults from the context, validation, JSON round trip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mic import context
from mic.eventbus import Event, check_topic, dead_letter_topic

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


def _nested(depth: int) -> dict[str, object]:
    payload: dict[str, object] = {}
    inner = payload
    for _ in range(depth):
        inner["a"] = inner = {}
    return payload


@given(st.dictionaries(st.text(), JSON, max_size=4))
def test_any_json_payload_survives_the_round_trip(payload: dict[str, object]) -> None:
    event = Event("t", payload, headers={"k": "v"}, correlation_id="c", traceparent="p")
    assert event == Event.decode(event.encode())


def test_context_fills_correlation_id_and_traceparent() -> None:
    ids, parent = context.correlation_id.set("req-1"), context.traceparent.set("tp")
    try:
        event = Event("t")
        explicit = Event("t", correlation_id="other")
    finally:
        context.correlation_id.reset(ids)
        context.traceparent.reset(parent)
    assert ("req-1", "tp") == (event.correlation_id, event.traceparent)
    assert "other" == explicit.correlation_id
    assert (None, None) == (Event("t").correlation_id, Event("t").traceparent)


def test_decoding_never_takes_the_current_context() -> None:
    data = Event("t").encode()
    token = context.correlation_id.set("req-2")
    try:
        assert Event.decode(data).correlation_id is None
    finally:
        context.correlation_id.reset(token)


def test_defaults() -> None:
    event = Event("orders.created")
    assert 32 == len(event.id)
    assert {} == event.payload
    assert event.occurred_at.tzinfo is not None
    assert "orders.created.dead-letter" == dead_letter_topic(event.topic)
    assert "a-b_c.d" == check_topic("a-b_c.d")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"topic": "a..b"}, ValueError, "invalid topic"),
        ({"topic": "a b"}, ValueError, "invalid topic"),
        ({"topic": "x" * 201}, ValueError, "invalid topic"),
        ({"topic": 3}, ValueError, "invalid topic"),
        ({"payload": [1]}, TypeError, "must be a dict"),
        ({"payload": {"a": (1, 2)}}, TypeError, r"payload\.a is a tuple"),
        ({"payload": {"a": [float("nan")]}}, TypeError, "NaN"),
        ({"payload": {"a": {1: 2}}}, TypeError, "non-string key"),
        ({"payload": {"when": datetime.now(UTC)}}, TypeError, "not JSON-safe"),
        ({"id": ""}, ValueError, "event id"),
        ({"occurred_at": datetime(2024, 1, 1)}, ValueError, "timezone-aware"),
        ({"headers": {"a": 1}}, TypeError, "header"),
        ({"headers": {"": "v"}}, TypeError, "header"),
        ({"headers": [("a", "b")]}, TypeError, "headers must be a mapping"),
        ({"occurred_at": "2024-01-01T00:00:00+00:00"}, TypeError, "must be a datetime"),
        ({"correlation_id": 5}, TypeError, "correlation_id must be a string"),
        ({"traceparent": b"00-"}, TypeError, "traceparent must be a string"),
        ({"id": "a\r\nPUB x"}, ValueError, "control characters"),
        ({"id": "a\x00"}, ValueError, "control characters"),
        ({"payload": _nested(5000)}, TypeError, "nested too deeply"),
    ],
)
def test_bad_events_are_refused(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {"topic": "t", **kwargs}
    with pytest.raises(error, match=message):
        Event(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [
        '{"id":"x","topic":"t","occurred_at":"2024-01-01T00:00:00+00:00","payload":'
        + '{"a":' * 100_000
        + "1"
        + "}" * 100_001,
        b"\xff",
        "not json",
        "[1]",
        '{"topic": "t"}',
        '{"topic": "t", "payload": {}, "id": "x", "occurred_at": "yesterday"}',
    ],
)
def test_garbage_does_not_decode(data: str | bytes) -> None:
    with pytest.raises(ValueError, match="not a valid event"):
        Event.decode(data)

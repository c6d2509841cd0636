"""configure_logging, the JSON and text formatters, and the redacting log filter."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from mic import context as mic_context
from mic.observability import (
    JsonLogFormatter,
    LogContextFilter,
    RedactingLogFilter,
    configure_logging,
    current_route,
    log_context,
)
from mic.redaction import REDACTED, RedactionPolicy, keyed_hash, redact_drop

HASH = keyed_hash(b"0123456789abcdef")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    target = logging.getLogger("tests.observability.logging")
    yield target
    for handler in list(target.handlers):
        target.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_context_and_extras(logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("json", "DEBUG", redactors={"email": HASH}, stream=stream, logger=logger)
    id_token = mic_context.correlation_id.set("req-1")
    route_token = current_route.set("/items/{item_id}")
    parent_token = mic_context.traceparent.set(TRACEPARENT)
    try:
        logger.debug("order %s placed", 42, extra={"email": "a@b.c", "count": 2})
    finally:
        mic_context.traceparent.reset(parent_token)
        current_route.reset(route_token)
        mic_context.correlation_id.reset(id_token)
    (line,) = _lines(stream)
    assert line["timestamp"].endswith("Z")
    assert {k: v for k, v in line.items() if k != "timestamp"} == {
        "level": "DEBUG",
        "logger": logger.name,
        "message": "order 42 placed",
        "correlation_id": "req-1",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": None,
        "route": "/items/{item_id}",
        "email": HASH("a@b.c"),
        "count": 2,
    }


def test_trace_and_span_ids_come_from_the_current_span(logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream, logger=logger)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logger.info("inside")
        context = span.get_span_context()
    (line,) = _lines(stream)
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")


def test_invalid_traceparent_in_context_gives_no_trace_id() -> None:
    token = mic_context.traceparent.set("garbage")
    try:
        assert log_context()["trace_id"] is None
    finally:
        mic_context.traceparent.reset(token)


def test_formatter_alone_reads_the_context(logger: logging.Logger) -> None:
    record = logger.makeRecord(logger.name, logging.INFO, "f", 1, "hi", (), None)
    token = mic_context.correlation_id.set("abc")
    try:
        line = json.loads(JsonLogFormatter().format(record))
    finally:
        mic_context.correlation_id.reset(token)
    assert line["correlation_id"] == "abc"


def test_context_filter_keeps_values_given_in_extra(logger: logging.Logger) -> None:
    record = logger.makeRecord(
        logger.name, logging.INFO, "f", 1, "hi", (), None, extra={"correlation_id": "mine"}
    )
    assert LogContextFilter().filter(record)
    assert record.correlation_id == "mine"  # type: ignore[attr-defined]


def test_exceptions_are_formatted_and_redacted(logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream, logger=logger)
    try:
        raise RuntimeError("connect postgres://app:s3cr3t@db/x failed")
    except RuntimeError:
        logger.exception("boom", stack_info=True)
    (line,) = _lines(stream)
    assert "RuntimeError: connect postgres://app:[REDACTED]@db/x failed" in line["exception"]
    assert "s3cr3t" not in json.dumps(line)
    assert line["stack"].startswith("Stack (most recent call last)")


def test_text_format(logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("text", logging.INFO, stream=stream, logger=logger)
    logger.info("token=abc")
    token = mic_context.correlation_id.set("req-9")
    try:
        logger.warning("hello")
    finally:
        mic_context.correlation_id.reset(token)
    first, second = stream.getvalue().splitlines()
    assert first.endswith(f"INFO {logger.name} [-] token={REDACTED}")
    assert second.endswith(f"WARNING {logger.name} [req-9] hello")


def test_configure_twice_replaces_its_own_handler_only(logger: logging.Logger) -> None:
    other = logging.NullHandler()
    logger.addHandler(other)
    first = configure_logging(stream=io.StringIO(), logger=logger)
    second = configure_logging(stream=io.StringIO(), logger=logger)
    assert logger.handlers == [other, second]
    assert first is not second


def test_configure_root_logger_by_default() -> None:
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(level="WARNING")
    try:
        assert handler in root.handlers
        assert root.level == logging.WARNING
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"format": "xml"}, ValueError, "format must be"),
        ({"level": "LOUD"}, ValueError, "unknown log level"),
        ({"redactors": {}, "policy": RedactionPolicy()}, TypeError, "not both"),
    ],
)
def test_configure_rejects_bad_arguments(
    logger: logging.Logger, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        configure_logging(logger=logger, **kwargs)


def _record(msg: Any, args: Any = (), **extra: Any) -> logging.LogRecord:
    return logging.getLogger("r").makeRecord(
        "r", logging.INFO, "f", 1, msg, args, None, extra=extra
    )


def test_filter_redacts_structured_arguments() -> None:
    record = _record("user %s %d", ({"email": "a@b.c", "password": "p"}, 7))
    RedactingLogFilter(redactors={"email": HASH}).filter(record)
    assert record.getMessage() == f"user {{'email': '{HASH('a@b.c')}'}} 7"
    assert record.args is None


def test_filter_keeps_mapping_arguments_usable() -> None:
    record = _record("%(user)s %(password)s", ({"user": "bob", "password": "p"},))
    RedactingLogFilter().filter(record)
    assert record.getMessage() == f"bob {REDACTED}"


def test_filter_redacts_non_string_messages() -> None:
    record = _record({"token": "t", "ok": 1})
    RedactingLogFilter().filter(record)
    assert record.getMessage() == "{'ok': 1}"


def test_filter_survives_bad_format_arguments() -> None:
    record = _record("token=%s %s", ("only-one",))
    RedactingLogFilter().filter(record)
    # The arguments become text too (they used to stay on the record, unredacted).
    assert record.msg == f"token={REDACTED} %s (arguments: ('only-one',))"
    assert record.args is None


def test_filter_drops_extra_fields_and_runs_once_per_policy() -> None:
    policy = RedactionPolicy({"email": HASH, "otp": redact_drop})
    record = _record("hi", email="a@b.c", otp="1", nested={"access_token": "t"})
    first = RedactingLogFilter(policy=policy)
    assert first.filter(record)
    assert first.filter(record)
    RedactingLogFilter(policy=policy).filter(record)
    assert not hasattr(record, "otp")
    assert record.email == HASH("a@b.c")  # type: ignore[attr-defined]
    assert record.nested == {}  # type: ignore[attr-defined]


def test_spec_example_on_a_handler() -> None:
    from mic.observability import RedactingLogFilter as SpecFilter
    from mic.outbox import redact_drop as drop
    from mic.outbox import redact_hash

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(SpecFilter(redactors={"email": redact_hash, "access_token": drop}))
    spec_logger = logging.Logger("spec")
    spec_logger.addHandler(handler)
    spec_logger.info("login", extra={"email": "a@b.c", "accessToken": "tok"})
    (line,) = _lines(stream)
    assert line["email"] == redact_hash("a@b.c")
    assert "accessToken" not in line

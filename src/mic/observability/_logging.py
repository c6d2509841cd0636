"""`configure_logging`: one JSON object per line (or plain text) with the request's context.

Each line carries timestamp, level, logger, message, correlation id, trace and span ids and
the route template, plus the record's ``extra`` fields; secrets are redacted before output.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any, Final, Literal

from mic.observability._context import log_context
from mic.observability._log_redaction import (
    CONTEXT_FIELDS,
    STANDARD_RECORD_ATTRIBUTES,
    RedactingLogFilter,
)
from mic.redaction import RedactionPolicy, Redactor

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"


class LogContextFilter(logging.Filter):
    """Stamp each record with the correlation id, trace id, span id and route of its context.

    Runs where the record is created (before any queue or thread hand-off), so the values
    are the caller's. Attributes already present on the record (from ``extra``) are kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the context attributes; always ``True``."""
        attributes = record.__dict__
        for key, value in log_context().items():
            attributes.setdefault(key, value)
        return True


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLogFormatter(logging.Formatter):
    """Format a record as one JSON object on one line.

    Keys: ``timestamp`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``, ``message``,
    ``correlation_id``, ``trace_id``, ``span_id``, ``route`` (``null`` when unknown), then
    every ``extra`` field that does not clash with those, then ``exception`` and ``stack``
    when present. The line is always strict JSON (RFC 8259): values JSON cannot encode
    are written with ``str()``, non-string keys as strings, ``NaN`` and infinities as the
    strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, a reference cycle as
    ``"[cycle]"``, and text that is not valid Unicode (lone surrogates) with ``\\u``
    escapes.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line for `record` (no trailing newline)."""
        attributes = record.__dict__
        document: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = log_context() if "correlation_id" not in attributes else attributes
        for key in CONTEXT_FIELDS:
            document[key] = context.get(key)
        for key, value in attributes.items():
            if key not in STANDARD_RECORD_ATTRIBUTES and key not in document:
                document[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            document["exception"] = record.exc_text
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return _json_line(document)


def _json_line(document: dict[str, Any]) -> str:
    try:
        line = json.dumps(
            document, default=str, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
    except Exception:  # noqa: BLE001 - NaN, a non-string key, a cycle, a failing str()
        line = json.dumps(_jsonable(document, set()), ensure_ascii=False, separators=(",", ":"))
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no UTF-8 stream could write it
            line = json.dumps(json.loads(line), ensure_ascii=True, separators=(",", ":"))
    return line


_FLOATS: Final = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _jsonable(value: Any, active: set[int]) -> Any:
    """`value` made of what strict JSON encodes (the slow path, after `json.dumps` failed)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return _FLOATS.get(repr(value), value)
    if isinstance(value, dict | list | tuple | set | frozenset):
        if id(value) in active:
            return "[cycle]"
        active.add(id(value))
        try:
            if isinstance(value, dict):
                return {_text(key): _jsonable(item, active) for key, item in value.items()}
            return [_jsonable(item, active) for item in value]
        finally:
            active.discard(id(value))
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - an object whose str() fails
        return f"<unprintable {type(value).__name__}>"


class TextLogFormatter(logging.Formatter):
    """Human-readable lines: ``time LEVEL logger [correlation id] message``."""

    def __init__(self, fmt: str = TEXT_FORMAT) -> None:
        super().__init__(fmt, defaults=dict.fromkeys(CONTEXT_FIELDS, "-"))

    def format(self, record: logging.LogRecord) -> str:
        """The text line for `record`; unknown context values show as ``-``."""
        attributes = record.__dict__
        missing = [key for key in CONTEXT_FIELDS if attributes.get(key, "") is None]
        for key in missing:
            attributes[key] = "-"
        return super().format(record)


class _ConfiguredHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs; replaced when it is called again."""


def configure_logging(
    format: Literal["json", "text"] = "json",
    level: int | str = logging.INFO,
    *,
    redactors: Mapping[str, Redactor] | None = None,
    policy: RedactionPolicy | None = None,
    stream: IO[str] | None = None,
    logger: logging.Logger | None = None,
) -> logging.Handler:
    """Send log records to `stream` as JSON lines (or text), with context and redaction.

    Installs one handler on the root logger (or `logger`) carrying `LogContextFilter` and
    `RedactingLogFilter`. Calling it again replaces the handler it installed before, so it
    is safe in tests and reloads; handlers installed by others are left alone.

    Args:
        format: ``"json"`` (one object per line) or ``"text"``.
        level: Level of the configured logger (``"INFO"``, ``logging.DEBUG``...).
        redactors: Field strategies for the redacting filter (the usual secret names are
            always dropped, and secret patterns redacted).
        policy: A ready `RedactionPolicy` instead of `redactors`.
        stream: Where lines go; standard error by default.
        logger: The logger to configure; the root logger by default.

    Returns:
        The installed handler.

    Raises:
        ValueError: Unknown `format` or `level`.
        TypeError: Both `redactors` and `policy` were given.
    """
    if format not in ("json", "text"):
        raise ValueError(f"format must be 'json' or 'text', not {format!r}")
    numeric = logging.getLevelNamesMapping().get(level.upper()) if isinstance(level, str) else level
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    redacting = RedactingLogFilter(redactors, policy=policy)
    target = logger if logger is not None else logging.getLogger()
    for old in [h for h in target.handlers if isinstance(h, _ConfiguredHandler)]:
        target.removeHandler(old)
    handler = _ConfiguredHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLogFormatter() if format == "json" else TextLogFormatter())
    handler.addFilter(LogContextFilter())
    handler.addFilter(redacting)
    target.addHandler(handler)
    target.setLevel(numeric)
    return handler

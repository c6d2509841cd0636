"""`RedactingLogFilter`: the redaction policy applied to log records before any handler emits.

It covers the message and its arguments, ``extra`` fields (recursively) and the exception
and stack text. Attach it to handlers, so records from every logger pass through it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from mic.redaction import DROP, REDACTED, RedactionPolicy, Redactor
from mic.redaction._policy import as_policy

_MARKER: Final = "_mic_redacted_by"
_BLANK_RECORD: Final = logging.LogRecord("", 0, "", 0, "", (), None)
STANDARD_RECORD_ATTRIBUTES: Final = frozenset(
    {*vars(_BLANK_RECORD), "message", "asctime", "taskName", _MARKER}
)
"""Attributes every `LogRecord` has; anything else on a record came from ``extra``."""

CONTEXT_FIELDS: Final = ("correlation_id", "trace_id", "span_id", "route")
"""Record attributes `LogContextFilter` sets, and JSON keys every line carries."""

_EXCEPTION_FORMATTER: Final = logging.Formatter()
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


class RedactingLogFilter(logging.Filter):
    """A `logging.Filter` that redacts records in place and always lets them through.

    Args:
        redactors: Field name to strategy (see `mic.redaction`); the usual secret names
            are dropped as well.
        policy: A ready `RedactionPolicy` instead of `redactors`.

    What it does to a record: the message is formatted with its arguments (arguments that
    are structures are redacted field by field first), secret patterns and sensitive
    ``key=value`` pairs are redacted in the text, and ``args`` is cleared (a format that
    does not fit its arguments gives ``<format> (arguments: (...))``). A record that cannot
    be redacted at all is emitted as ``[REDACTED] (...)`` with its ``extra`` fields
    ``[REDACTED]``: the filter never raises into the logging call. ``extra``
    fields are redacted by name and recursively; dropped fields are removed. The exception
    traceback is formatted into ``exc_text`` and redacted (``exc_info`` stays for handlers
    that need the exception object: they see it unredacted). Running twice with the same
    policy is a no-op, so a record may pass several handlers. Thread-safe.

    Raises:
        TypeError: Both `redactors` and `policy` were given.
    """

    def __init__(
        self,
        redactors: Mapping[str, Redactor] | None = None,
        *,
        policy: RedactionPolicy | None = None,
    ) -> None:
        super().__init__()
        self.policy = as_policy(redactors, policy)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact `record` in place; always ``True``."""
        attributes = record.__dict__
        policy = self.policy
        if attributes.get(_MARKER) is policy:
            return True
        try:
            self._redact_message(record)
            # One C-level set difference finds the `extra` fields; only changed ones are
            # written.
            if extra_keys := attributes.keys() - STANDARD_RECORD_ATTRIBUTES:
                policy.redact_in_place(attributes, extra_keys)
            if record.exc_info or record.exc_text or record.stack_info:
                self._redact_exception(record)
        except Exception as error:  # noqa: BLE001 - a filter must not raise into the caller
            _fail_closed(record, error)
        attributes[_MARKER] = policy
        return True

    def _redact_message(self, record: logging.LogRecord) -> None:
        policy = self.policy
        args = record.args
        if type(args) is tuple:
            for arg in args:
                if type(arg) not in _SCALARS:
                    # Strings need no walk: they are scanned as part of the formatted message.
                    record.args = tuple(
                        a if type(a) in _SCALARS else policy.redact(a) for a in args
                    )
                    break
        elif isinstance(args, Mapping):
            record.args = {
                key: _keep(policy.redact_field(key, value))
                if isinstance(key, str)
                else policy.redact(value)
                for key, value in args.items()
            }
        if not isinstance(record.msg, str):
            record.msg = policy.redact(record.msg)
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - the format does not fit its arguments
            # Keep both, as text: the arguments must not stay on the record unredacted, and
            # redacting the format may make it fit them (`%40x` in a URL password).
            text = f"{record.msg} (arguments: {record.args!r})"
        record.msg = policy.scrub_text(text)
        record.args = None

    def _redact_exception(self, record: logging.LogRecord) -> None:
        policy = self.policy
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXCEPTION_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = policy.scrub_text(record.exc_text)
        if record.stack_info:
            record.stack_info = policy.scrub_text(record.stack_info)


def _fail_closed(record: logging.LogRecord, error: Exception) -> None:
    # Something in the record could not be redacted (an object whose walk raised): emit the
    # line without anything that came from the caller, rather than raise into `logger.info`
    # or let the record through unredacted.
    record.msg = f"{REDACTED} (the log record could not be redacted: {type(error).__name__})"
    record.args = None
    # The context fields are the toolkit's own (validated ids, a route template): kept.
    for key in record.__dict__.keys() - STANDARD_RECORD_ATTRIBUTES - set(CONTEXT_FIELDS):
        record.__dict__[key] = REDACTED
    had_exception = bool(record.exc_info or record.exc_text)
    record.exc_info = None
    record.exc_text = REDACTED if had_exception else None
    record.stack_info = None


def _keep(value: Any) -> Any:
    # A mapping argument feeds `%(name)s`: removing the key would break the format string.
    return REDACTED if value is DROP else value

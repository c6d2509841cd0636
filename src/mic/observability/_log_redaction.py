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
    ``key=value`` pairs are redacted in the text, and ``args`` is cleared. ``extra``
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
        self._redact_message(record)
        # One C-level set difference finds the `extra` fields; only changed ones are written.
        if extra_keys := attributes.keys() - STANDARD_RECORD_ATTRIBUTES:
            policy.redact_in_place(attributes, extra_keys)
        if record.exc_info or record.exc_text or record.stack_info:
            self._redact_exception(record)
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
            record.args = {key: _keep(policy.redact_field(key, value)) if isinstance(key, str)
                           else policy.redact(value) for key, value in args.items()}  # fmt: skip
        if not isinstance(record.msg, str):
            record.msg = policy.redact(record.msg)
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - bad arguments: logging reports them when it emits
            record.msg = policy.scrub_text(str(record.msg))
            return
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


def _keep(value: Any) -> Any:
    # A mapping argument feeds `%(name)s`: removing the key would break the format string.
    return REDACTED if value is DROP else value

"""One redaction policy for logs, traces, events and metrics.

A `RedactionPolicy` maps field names to strategies (`redact_drop`, `redact_mask`,
`redact_hash`, `keyed_hash`, or any callable) and finds secrets by pattern in free text.
`mic.observability` and `mic.outbox` apply it; see docs/observability.md.
"""

from mic.redaction._policy import SECRET_FIELD_NAMES, RedactionPolicy, normalize_field_name
from mic.redaction._strategies import (
    DROP,
    HASH_KEY_ENV,
    MASK,
    REDACTED,
    FieldRedactors,
    Redactor,
    default_hash_key,
    keyed_hash,
    partial_mask,
    redact_drop,
    redact_hash,
    redact_mask,
    reset_default_hash_key,
)

__all__ = [
    "DROP",
    "HASH_KEY_ENV",
    "MASK",
    "REDACTED",
    "SECRET_FIELD_NAMES",
    "FieldRedactors",
    "RedactionPolicy",
    "Redactor",
    "default_hash_key",
    "keyed_hash",
    "normalize_field_name",
    "partial_mask",
    "redact_drop",
    "redact_hash",
    "redact_mask",
    "reset_default_hash_key",
]

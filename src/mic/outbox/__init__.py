"""Transactional outbox: events stored with the business write, dispatched afterwards.

This package also holds the event redaction applied before a row is stored
(`sanitize_payload`, `TopicRedactionPolicy`) and re-exports the shared strategies.
"""

from mic.outbox._redaction import (
    FieldRedactors,
    TopicRedactionPolicy,
    redact_drop,
    redact_hash,
    redact_mask,
    sanitize_payload,
)

__all__ = [
    "FieldRedactors",
    "TopicRedactionPolicy",
    "redact_drop",
    "redact_hash",
    "redact_mask",
    "sanitize_payload",
]

"""Transactional outbox: events stored with the business write, dispatched afterwards.

`OutboxStore.add` writes an event through the current unit of work, so it commits or rolls
back with the business data; `OutboxDispatcher` publishes stored events to an `EventBus` at
least once. `InMemoryOutboxStore` joins the in-memory unit of work; `SqlOutboxStore` the SQL
one (``sql`` extra). This package also holds the event redaction applied before a row is
stored (`sanitize_payload`, `TopicRedactionPolicy`) and re-exports the shared strategies.
See docs/events.md.
"""

from mic.outbox._dispatcher import DispatcherOptions, OutboxDispatcher, OutboxPublishError
from mic.outbox._redaction import (
    FieldRedactors,
    TopicRedactionPolicy,
    redact_drop,
    redact_hash,
    redact_mask,
    sanitize_payload,
)
from mic.outbox._sql import SqlOutboxStore
from mic.outbox._store import (
    InMemoryOutboxStore,
    NoUnitOfWorkError,
    OutboxBatch,
    OutboxRecord,
    OutboxStore,
)

__all__ = [
    "DispatcherOptions",
    "FieldRedactors",
    "InMemoryOutboxStore",
    "NoUnitOfWorkError",
    "OutboxBatch",
    "OutboxDispatcher",
    "OutboxPublishError",
    "OutboxRecord",
    "OutboxStore",
    "SqlOutboxStore",
    "TopicRedactionPolicy",
    "redact_drop",
    "redact_hash",
    "redact_mask",
    "sanitize_payload",
]

"""The public surface of mic.outbox is pinned."""

import mic.outbox


def test_outbox_exports() -> None:
    assert [
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
    ] == mic.outbox.__all__

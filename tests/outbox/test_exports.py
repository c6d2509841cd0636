"""The spec's names are exported by mic.outbox (tests/test_public_surface.py checks its
`__all__` against its namespace)."""

import mic.outbox


def test_outbox_exports_the_spec_names() -> None:
    spec_names = {
        "OutboxDispatcher",
        "OutboxStore",
        "TopicRedactionPolicy",
        "redact_drop",
        "redact_hash",
        "redact_mask",
        "sanitize_payload",
    }
    assert spec_names <= set(mic.outbox.__all__)

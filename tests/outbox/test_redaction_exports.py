"""The outbox re-exports the shared strategies and its event redaction."""

import mic.outbox
import mic.redaction


def test_redaction_names_are_exported() -> None:
    names = {
        "FieldRedactors",
        "TopicRedactionPolicy",
        "redact_drop",
        "redact_hash",
        "redact_mask",
        "sanitize_payload",
    }
    assert names <= set(mic.outbox.__all__)
    assert mic.outbox.redact_hash is mic.redaction.redact_hash
    assert mic.outbox.redact_drop is mic.redaction.redact_drop
    assert mic.outbox.redact_mask is mic.redaction.redact_mask

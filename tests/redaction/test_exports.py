"""The public surface of mic.redaction is pinned."""

import mic.redaction


def test_all_is_pinned() -> None:
    assert sorted(mic.redaction.__all__) == sorted([
        "DROP", "HASH_KEY_ENV", "MASK", "REDACTED", "SECRET_FIELD_NAMES", "FieldRedactors",
        "RedactionPolicy", "Redactor", "default_hash_key", "keyed_hash", "normalize_field_name",
        "partial_mask", "redact_drop", "redact_hash", "redact_mask", "reset_default_hash_key",
    ])  # fmt: skip
    for name in mic.redaction.__all__:
        assert getattr(mic.redaction, name) is not None

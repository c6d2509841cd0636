"""The public surface of mic.diff is pinned."""

from __future__ import annotations

import types

import mic.diff


def test_all_is_pinned() -> None:
    assert sorted(
        [
            "Change",
            "ContractDiffError",
            "DiffReport",
            "Differ",
            "Direction",
            "DocumentKind",
            "SchemaComparer",
            "detect_kind",
            "diff_documents",
            "document_kinds",
            "register_document_kind",
        ]
    ) == sorted(mic.diff.__all__)
    public = {
        name
        for name, value in vars(mic.diff).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(mic.diff.__all__)

"""Breaking-change reports between two versions of a contract document (``mic diff``).

`diff_documents(old, new)` detects the kind of document (OpenAPI 3.x and AsyncAPI 3.x built
in; more kinds plug in with `register_document_kind`) and returns a `DiffReport` of
`Change`s, each breaking or not for clients of the old version. Standard library only. The
rules are listed in docs/cli.md and ADR 0086.
"""

from mic.diff._model import Change, ContractDiffError, DiffReport
from mic.diff._registry import (
    Differ,
    DocumentKind,
    detect_kind,
    diff_documents,
    document_kinds,
    register_document_kind,
)
from mic.diff._schema import Direction, SchemaComparer

__all__ = [
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

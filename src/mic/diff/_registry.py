"""Document kinds a contract diff understands, and `diff_documents`, which picks the rules.

OpenAPI 3.x and AsyncAPI 3.x are built in. Another kind plugs in with
`register_document_kind`: a detector, its rules, and nothing else changes (the CLI, the
report, the exit status).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from mic.diff._asyncapi import diff_asyncapi, is_asyncapi
from mic.diff._model import Change, ContractDiffError, DiffReport, sorted_changes
from mic.diff._openapi import diff_openapi, is_openapi

Differ = Callable[[Mapping[str, Any], Mapping[str, Any]], list[Change]]
"""Rules of one document kind: every `Change` from the old document to the new one."""


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """A kind of contract document and the rules that compare two of them.

    Attributes:
        name: Short name shown in reports (``openapi``, ``asyncapi``).
        detect: Whether a parsed document is of this kind.
        differ: The rules.
    """

    name: str
    detect: Callable[[Mapping[str, Any]], bool]
    differ: Differ


_KINDS: dict[str, DocumentKind] = {
    "openapi": DocumentKind("openapi", is_openapi, diff_openapi),
    "asyncapi": DocumentKind("asyncapi", is_asyncapi, diff_asyncapi),
}


def register_document_kind(kind: DocumentKind) -> None:
    """Teach `diff_documents` a document kind (replacing one of the same name).

    Raises:
        TypeError: `kind` is not a `DocumentKind`.
    """
    if not isinstance(kind, DocumentKind):
        raise TypeError(f"expected a DocumentKind, not {type(kind).__name__}")
    _KINDS[kind.name] = kind


def document_kinds() -> tuple[DocumentKind, ...]:
    """The known document kinds, in registration order."""
    return tuple(_KINDS.values())


def detect_kind(document: object) -> DocumentKind:
    """The kind of `document`.

    Raises:
        ContractDiffError: Not a JSON object, or of no known kind.
    """
    if not isinstance(document, Mapping):
        raise ContractDiffError(
            f"a contract document is a JSON object, not {type(document).__name__}"
        )
    for kind in _KINDS.values():
        if kind.detect(document):
            return kind
    marker = next(
        (f"{k} {document[k]!r}" for k in ("openapi", "asyncapi", "swagger") if k in document),
        "no 'openapi' or 'asyncapi' field",
    )
    known = ", ".join(_KINDS)
    raise ContractDiffError(f"unsupported contract document ({marker}); supported kinds: {known}")


def _version(document: Mapping[str, Any]) -> str | None:
    info = document.get("info")
    version = info.get("version") if isinstance(info, Mapping) else None
    return str(version) if version is not None else None


def diff_documents(old: object, new: object) -> DiffReport:
    """Compare two versions of a contract; the report says which changes break clients.

    Raises:
        ContractDiffError: A document of no known kind, or two documents of different kinds.
    """
    old_kind, new_kind = detect_kind(old), detect_kind(new)
    if old_kind.name != new_kind.name:
        raise ContractDiffError(
            f"cannot compare a {old_kind.name} document with a {new_kind.name} one"
        )
    old_document = cast("Mapping[str, Any]", old)  # detect_kind checked both
    new_document = cast("Mapping[str, Any]", new)
    changes = sorted_changes(old_kind.differ(old_document, new_document))
    return DiffReport(old_kind.name, _version(old_document), _version(new_document), changes)

"""Schema shapes the rules must read right: const, implicit types, refs, booleans, unions."""

from __future__ import annotations

from typing import Any

import pytest

from mic.diff import Change, SchemaComparer
from mic.diff._schema import resolve_pointer


def compare(
    old: Any, new: Any, direction: str, old_doc: Any = None, new_doc: Any = None
) -> set[tuple[str, bool]]:
    found: list[Change] = []
    comparer = SchemaComparer(old_doc or {}, new_doc or {}, found.append)
    comparer.compare(old, new, pointer="/s", location="here", direction=direction)  # type: ignore[arg-type]
    return {(change.rule, change.breaking) for change in found}


@pytest.mark.parametrize(
    ("old", "new", "direction", "expected"),
    [
        ({"const": "a"}, {"enum": ["a", "b"]}, "request", {("request.enum.value-added", False)}),
        ({"const": "a"}, {"enum": ["a", "b"]}, "response", {("response.enum.value-added", True)}),
        (
            {"items": {"type": "string"}},
            {"items": {"type": "integer"}},
            "request",
            {("request.type.narrowed", True)},
        ),
        (
            {"additionalProperties": {"type": "string"}},
            {"additionalProperties": {"type": "integer"}},
            "response",
            {("response.type.widened", True)},
        ),
        (True, {"type": "string"}, "request", {("request.type.narrowed", True)}),
        ({"type": "string"}, True, "response", {("response.type.widened", True)}),
        (
            {"type": "integer", "minimum": 5},
            {"type": "integer", "minimum": 1},
            "request",
            {("request.constraint.loosened", False)},
        ),
        (
            {"type": "integer", "minimum": 1},
            {"type": "integer", "minimum": 5},
            "response",
            {("response.constraint.tightened", False)},
        ),
        (
            {"type": "number", "multipleOf": 2},
            {"type": "number", "multipleOf": 4},
            "request",
            {("request.constraint.tightened", True)},
        ),
        (
            {"type": "number", "multipleOf": 2},
            {"type": "number"},
            "request",
            {("request.constraint.loosened", False)},
        ),
        (
            {"oneOf": [{"type": "string"}, {}]},
            {"oneOf": [{"type": "string"}, {}]},
            "request",
            set(),
        ),
        (
            {"oneOf": [{"type": "string"}, {}]},
            {"oneOf": [{"type": "integer"}, {}]},
            "request",
            {("request.type.narrowed", True)},
        ),
        (
            {"type": "string", "format": "date"},
            {"type": "string"},
            "request",
            {("request.format.changed", False)},
        ),
        (
            {"type": "string"},
            {"type": "string", "format": "date"},
            "response",
            {("response.format.changed", False)},
        ),
    ],
)
def test_edge(old: Any, new: Any, direction: str, expected: set[tuple[str, bool]]) -> None:
    assert expected == compare(old, new, direction)


def test_reference_cycles_and_broken_references_terminate() -> None:
    doc = {
        "defs": {"a": {"$ref": "#/defs/b"}, "b": {"$ref": "#/defs/a"}, "list": [{"type": "string"}]}
    }
    assert set() == compare({"$ref": "#/defs/a"}, {"$ref": "#/defs/a"}, "request", doc, doc)
    assert {("request.type.narrowed", True)} == compare(
        {"$ref": "#/defs/a"}, {"$ref": "#/defs/list/0"}, "request", doc, doc
    )
    assert set() == compare(
        {"$ref": "#/defs/list/9"}, {"$ref": "#/defs/list/x"}, "request", doc, doc
    )


def test_resolve_pointer_reads_escaped_tokens() -> None:
    doc = {"paths": {"/a/{b}": {"get": 1}}, "x~y": 2}
    assert (1, "/paths/~1a~1{b}/get") == resolve_pointer(doc, "#/paths/~1a~1{b}/get")
    assert 2 == resolve_pointer(doc, "#/x~0y")[0]
    with pytest.raises(KeyError, match="only local references"):
        resolve_pointer(doc, "other.json#/a")
    with pytest.raises(KeyError, match="names nothing"):
        resolve_pointer(doc, "#/nope")


def test_a_path_item_reference_loop_is_an_empty_path() -> None:
    from mic.diff import diff_documents

    loop = {"openapi": "3.1.0", "paths": {"/a": {"$ref": "#/paths/~1a"}}}
    assert () == diff_documents(loop, loop).changes

"""Properties of the diff rules over generated schemas and documents (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mic.diff import diff_documents

TYPES = ("string", "integer", "number", "boolean", "null")
names = st.text(alphabet="abcdefgh", min_size=1, max_size=4)

scalars = st.one_of(
    st.builds(lambda t: {"type": t}, st.sampled_from(TYPES)),
    st.builds(
        lambda t: {"type": sorted(t)}, st.sets(st.sampled_from(TYPES), min_size=1, max_size=3)
    ),
    st.builds(
        lambda v: {"type": "string", "enum": sorted(v)}, st.sets(names, min_size=1, max_size=3)
    ),
    st.builds(lambda n: {"type": "string", "maxLength": n}, st.integers(0, 50)),
)


def objects(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(names, children, max_size=3).flatmap(
        lambda props: st.builds(
            lambda required, closed: {
                "type": "object",
                "properties": props,
                "required": sorted(required),
                "additionalProperties": not closed,
            },
            st.sets(st.sampled_from(sorted(props)) if props else st.nothing(), max_size=len(props)),
            st.booleans(),
        )
    )


schemas = st.recursive(
    scalars,
    lambda children: st.one_of(
        objects(children), st.builds(lambda i: {"type": "array", "items": i}, children)
    ),
    max_leaves=8,
)


def document(
    request: dict[str, Any], response: dict[str, Any], extra_ops: int = 0
) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/things": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": request}},
                },
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"application/json": {"schema": response}},
                    }
                },
            }
        }
    }
    for index in range(extra_ops):
        paths[f"/extra/{index}"] = {"get": {"responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths}


@settings(max_examples=150, deadline=None)
@given(schemas, schemas)
def test_a_document_never_differs_from_itself(
    request: dict[str, Any], response: dict[str, Any]
) -> None:
    assert () == diff_documents(document(request, response), document(request, response)).changes


@settings(max_examples=150, deadline=None)
@given(schemas, schemas, st.integers(1, 3))
def test_adding_operations_never_breaks_and_removing_them_always_does(
    request: dict[str, Any], response: dict[str, Any], extra: int
) -> None:
    small, large = document(request, response), document(request, response, extra)
    added = diff_documents(small, large)
    assert not added.is_breaking
    assert extra == len(added.changes)
    removed = diff_documents(large, small)
    assert extra == len(removed.breaking)
    assert {"operation.removed"} == {c.rule for c in removed.changes}


@settings(max_examples=200, deadline=None)
@given(scalars, scalars)
def test_sending_and_receiving_are_mirror_images(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Narrowing what a server accepts breaks exactly when widening what it sends would."""
    anything: dict[str, Any] = {}
    narrowed_request = diff_documents(document(a, anything), document(b, anything)).is_breaking
    widened_response = diff_documents(document(anything, b), document(anything, a)).is_breaking
    type_and_values_only = "maxLength" not in a and "maxLength" not in b
    if type_and_values_only:
        assert narrowed_request == widened_response


@settings(max_examples=150, deadline=None)
@given(schemas)
def test_making_a_request_field_optional_never_breaks(request: dict[str, Any]) -> None:
    if request.get("type") != "object" or not request["required"]:
        return
    relaxed = {**request, "required": request["required"][1:]}
    anything: dict[str, Any] = {}
    assert not diff_documents(document(request, anything), document(relaxed, anything)).is_breaking
    assert diff_documents(document(anything, request), document(anything, relaxed)).is_breaking

"""Each OpenAPI rule of `mic.diff`: a table of (change to the contract, expected report)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from mic.diff import Change, ContractDiffError, diff_documents

Doc = dict[str, Any]


def base() -> Doc:
    """A small contract: items with a body, a path and a query parameter, two answers."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "items", "version": "1.0.0"},
        "paths": {
            "/items": {
                "post": {
                    "operationId": "items.create",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/CreateItem"}
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Created",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Item"}
                                }
                            },
                        },
                        "422": {"description": "Invalid"},
                    },
                },
                "get": {
                    "operationId": "items.list",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "maximum": 100},
                        },
                        {
                            "name": "X-Tenant",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Item"},
                                    }
                                }
                            },
                        }
                    },
                },
            },
            "/items/{item_id}": {
                "parameters": [
                    {
                        "name": "item_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    }
                ],
                "get": {
                    "operationId": "items.get",
                    "responses": {
                        "200": {"$ref": "#/components/responses/ItemAnswer"},
                        "404": {"description": "Not found"},
                    },
                },
                "delete": {
                    "operationId": "items.delete",
                    "responses": {"204": {"description": "Gone"}},
                    "security": [{"bearer": ["items:write"]}],
                },
            },
        },
        "components": {
            "schemas": {
                "CreateItem": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 100},
                        "quantity": {"type": "integer", "minimum": 0},
                        "colour": {"type": "string", "enum": ["red", "blue"]},
                        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    },
                },
                "Item": {
                    "type": "object",
                    "required": ["id", "name", "state"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "name": {"type": "string"},
                        "quantity": {"type": "integer"},
                        "state": {"type": "string", "enum": ["new", "done"]},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "responses": {
                "ItemAnswer": {
                    "description": "OK",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}
                    },
                }
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def schema(doc: Doc, name: str) -> Doc:
    return doc["components"]["schemas"][name]  # type: ignore[no-any-return]


def op(doc: Doc, path: str, method: str) -> Doc:
    return doc["paths"][path][method]  # type: ignore[no-any-return]


Mutation = Callable[[Doc], object]

CASES: list[tuple[str, Mutation, str, bool]] = [
    # operations
    (
        "operation removed",
        lambda d: d["paths"]["/items/{item_id}"].pop("delete"),
        "operation.removed",
        True,
    ),
    ("path removed", lambda d: d["paths"].pop("/items/{item_id}"), "operation.removed", True),
    (
        "operation added",
        lambda d: d["paths"]["/items"].update(put={"responses": {"200": {"description": "OK"}}}),
        "operation.added",
        False,
    ),
    (
        "operation id changed",
        lambda d: op(d, "/items", "get").update(operationId="items.all"),
        "operation.id-changed",
        True,
    ),
    (
        "operation deprecated",
        lambda d: op(d, "/items", "get").update(deprecated=True),
        "operation.deprecated",
        False,
    ),
    # parameters
    (
        "required query parameter added",
        lambda d: op(d, "/items", "get")["parameters"].append(
            {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}
        ),
        "request.parameter.required-added",
        True,
    ),
    (
        "optional query parameter added",
        lambda d: op(d, "/items", "get")["parameters"].append(
            {"name": "q", "in": "query", "schema": {"type": "string"}}
        ),
        "request.parameter.added",
        False,
    ),
    (
        "parameter removed",
        lambda d: op(d, "/items", "get")["parameters"].pop(0),
        "request.parameter.removed",
        True,
    ),
    (
        "parameter became required",
        lambda d: op(d, "/items", "get")["parameters"][0].update(required=True),
        "request.parameter.became-required",
        True,
    ),
    (
        "parameter maximum lowered",
        lambda d: op(d, "/items", "get")["parameters"][0]["schema"].update(maximum=50),
        "request.constraint.tightened",
        True,
    ),
    (
        "parameter maximum raised",
        lambda d: op(d, "/items", "get")["parameters"][0]["schema"].update(maximum=500),
        "request.constraint.loosened",
        False,
    ),
    (
        "parameter type narrowed",
        lambda d: op(d, "/items", "get")["parameters"][1].update(schema={"type": "integer"}),
        "request.type.narrowed",
        True,
    ),
    (
        "path parameter format changed",
        lambda d: d["paths"]["/items/{item_id}"]["parameters"][0]["schema"].update(format="int64"),
        "request.format.changed",
        True,
    ),
    # request body
    (
        "required body field added",
        lambda d: (
            schema(d, "CreateItem")["properties"].update(sku={"type": "string"}),
            schema(d, "CreateItem")["required"].append("sku"),
        ),
        "request.property.required-added",
        True,
    ),
    (
        "optional body field added",
        lambda d: schema(d, "CreateItem")["properties"].update(sku={"type": "string"}),
        "request.property.added",
        False,
    ),
    (
        "body field became required",
        lambda d: schema(d, "CreateItem")["required"].append("quantity"),
        "request.property.became-required",
        True,
    ),
    (
        "body field removed under additionalProperties false",
        lambda d: schema(d, "CreateItem")["properties"].pop("quantity"),
        "request.property.removed",
        True,
    ),
    (
        "body enum value removed",
        lambda d: schema(d, "CreateItem")["properties"]["colour"].update(enum=["red"]),
        "request.enum.value-removed",
        True,
    ),
    (
        "body enum value added",
        lambda d: schema(d, "CreateItem")["properties"]["colour"].update(
            enum=["red", "blue", "green"]
        ),
        "request.enum.value-added",
        False,
    ),
    (
        "body enum introduced",
        lambda d: schema(d, "CreateItem")["properties"]["name"].update(enum=["a"]),
        "request.enum.added",
        True,
    ),
    (
        "body maxLength lowered",
        lambda d: schema(d, "CreateItem")["properties"]["name"].update(maxLength=10),
        "request.constraint.tightened",
        True,
    ),
    (
        "body pattern added",
        lambda d: schema(d, "CreateItem")["properties"]["name"].update(pattern="^[a-z]+$"),
        "request.constraint.tightened",
        True,
    ),
    (
        "body nullable removed",
        lambda d: schema(d, "CreateItem")["properties"].update(note={"type": "string"}),
        "request.type.narrowed",
        True,
    ),
    (
        "body integer widened to number",
        lambda d: schema(d, "CreateItem")["properties"]["quantity"].update(type="number"),
        "request.type.changed",
        False,
    ),
    (
        "body number narrowed to integer",
        lambda d: (
            (
                (schema(d, "CreateItem")["properties"]["quantity"].update(type="number"), "x")[1]
                and None
            )
            or schema(d, "Item")["properties"].update()
        ),
        "none",
        False,
    ),
    (
        "body became required",
        lambda d: (
            (op(d, "/items", "post")["requestBody"].update(required=False), "old")[1] and None
        ),
        "none",
        False,
    ),
    (
        "body media type removed",
        lambda d: op(d, "/items", "post")["requestBody"].update(
            content={"application/xml": {"schema": {}}}
        ),
        "request.media-type.removed",
        True,
    ),
    (
        "body removed",
        lambda d: op(d, "/items", "post").pop("requestBody"),
        "request.body.removed",
        True,
    ),
    (
        "required body added",
        lambda d: op(d, "/items", "get").update(
            requestBody={"required": True, "content": {"application/json": {"schema": {}}}}
        ),
        "request.body.added",
        True,
    ),
    (
        "optional body added",
        lambda d: op(d, "/items", "get").update(
            requestBody={"content": {"application/json": {"schema": {}}}}
        ),
        "request.body.added",
        False,
    ),
    # responses
    (
        "response field removed",
        lambda d: schema(d, "Item")["properties"].pop("quantity"),
        "response.property.removed",
        True,
    ),
    (
        "response field became optional",
        lambda d: schema(d, "Item")["required"].remove("name"),
        "response.property.became-optional",
        True,
    ),
    (
        "response field added",
        lambda d: schema(d, "Item")["properties"].update(colour={"type": "string"}),
        "response.property.added",
        False,
    ),
    (
        "response enum value added",
        lambda d: schema(d, "Item")["properties"]["state"].update(enum=["new", "done", "lost"]),
        "response.enum.value-added",
        True,
    ),
    (
        "response enum value removed",
        lambda d: schema(d, "Item")["properties"]["state"].update(enum=["new"]),
        "response.enum.value-removed",
        False,
    ),
    (
        "response enum dropped",
        lambda d: schema(d, "Item")["properties"]["state"].pop("enum"),
        "response.enum.removed",
        True,
    ),
    (
        "response type widened",
        lambda d: schema(d, "Item")["properties"]["quantity"].update(type=["integer", "null"]),
        "response.type.widened",
        True,
    ),
    (
        "response format dropped",
        lambda d: schema(d, "Item")["properties"]["id"].pop("format"),
        "response.format.changed",
        True,
    ),
    (
        "response array items changed",
        lambda d: schema(d, "Item")["properties"]["tags"]["items"].update(type="integer"),
        "response.type.widened",
        True,
    ),
    (
        "success status changed",
        lambda d: op(d, "/items", "post")["responses"].update(
            {"200": op(d, "/items", "post")["responses"].pop("201")}
        ),
        "response.status.removed",
        True,
    ),
    (
        "success status added",
        lambda d: op(d, "/items", "post")["responses"].update({"202": {"description": "Accepted"}}),
        "response.status.added",
        True,
    ),
    (
        "error status added",
        lambda d: op(d, "/items", "post")["responses"].update({"409": {"description": "Conflict"}}),
        "response.status.added",
        False,
    ),
    (
        "error status removed",
        lambda d: op(d, "/items", "post")["responses"].pop("422"),
        "response.status.removed",
        False,
    ),
    (
        "response media type changed",
        lambda d: op(d, "/items", "get")["responses"]["200"].update(
            content={"text/csv": {"schema": {"type": "string"}}}
        ),
        "response.media-type.removed",
        True,
    ),
    ("response header removed", lambda d: None, "none", False),
    (
        "response through a $ref changed",
        lambda d: d["components"]["responses"]["ItemAnswer"].update(content={}),
        "response.media-type.removed",
        True,
    ),
    # security
    (
        "security added",
        lambda d: op(d, "/items", "get").update(security=[{"bearer": []}]),
        "security.added",
        True,
    ),
    (
        "global security added",
        lambda d: d.update(security=[{"bearer": []}]),
        "security.added",
        True,
    ),
    (
        "security removed",
        lambda d: op(d, "/items/{item_id}", "delete").pop("security"),
        "security.removed",
        False,
    ),
    (
        "scope added",
        lambda d: op(d, "/items/{item_id}", "delete").update(
            security=[{"bearer": ["items:write", "items:admin"]}]
        ),
        "security.changed",
        True,
    ),
    (
        "scope removed",
        lambda d: op(d, "/items/{item_id}", "delete").update(security=[{"bearer": []}]),
        "none",
        False,
    ),
    (
        "another scheme accepted too",
        lambda d: op(d, "/items/{item_id}", "delete")["security"].append({"apiKey": []}),
        "none",
        False,
    ),
    (
        "optional auth made mandatory",
        lambda d: op(d, "/items", "get").update(security=[{}, {"bearer": []}]),
        "none",
        False,
    ),
]


@pytest.mark.parametrize(("title", "mutate", "rule", "breaking"), CASES, ids=[c[0] for c in CASES])
def test_rule(title: str, mutate: Mutation, rule: str, breaking: bool) -> None:
    old, new = base(), base()
    mutate(new)
    report = diff_documents(old, new)
    if rule == "none":
        assert not report.is_breaking, report.render_text()
        return
    matching = [change for change in report.changes if change.rule == rule]
    assert matching, report.render_text()
    assert {breaking} == {change.breaking for change in matching}, report.render_text()
    assert breaking == report.is_breaking, report.render_text()


def test_a_document_compared_with_itself_has_no_changes() -> None:
    report = diff_documents(base(), base())
    assert () == report.changes
    assert "openapi 1.0.0 -> 1.0.0: no changes\n" == report.render_text()


def test_renamed_path_parameters_are_the_same_operation() -> None:
    new = base()
    item = new["paths"].pop("/items/{item_id}")
    item["parameters"][0]["name"] = "id"
    new["paths"]["/items/{id}"] = item
    assert () == diff_documents(base(), new).changes


def test_header_names_are_case_insensitive() -> None:
    new = base()
    op(new, "/items", "get")["parameters"][1]["name"] = "x-tenant"
    assert () == diff_documents(base(), new).changes


def test_optional_auth_becoming_mandatory_breaks() -> None:
    old, new = base(), base()
    op(old, "/items", "get")["security"] = [{}, {"bearer": []}]
    op(new, "/items", "get")["security"] = [{"bearer": []}]
    (change,) = diff_documents(old, new).changes
    assert ("security.added", True) == (change.rule, change.breaking)


def test_a_body_that_became_required_breaks() -> None:
    old, new = base(), base()
    op(old, "/items", "post")["requestBody"]["required"] = False
    assert ["request.body.became-required"] == [c.rule for c in diff_documents(old, new).changes]


def test_number_narrowed_to_integer_in_a_request_breaks() -> None:
    old, new = base(), base()
    schema(old, "CreateItem")["properties"]["quantity"]["type"] = "number"
    (change,) = diff_documents(old, new).changes
    assert ("request.type.narrowed", True) == (change.rule, change.breaking)
    assert "/components/schemas/CreateItem/properties/quantity" == change.pointer
    assert "POST /items request body" == change.location


def test_a_removed_response_header_breaks() -> None:
    old, new = base(), base()
    op(old, "/items", "post")["responses"]["201"]["headers"] = {"Location": {"schema": {}}}
    assert ["response.header.removed"] == [c.rule for c in diff_documents(old, new).breaking]


def test_a_removed_field_is_compatible_when_unknown_fields_are_accepted() -> None:
    old, new = base(), base()
    for doc in (old, new):
        schema(doc, "CreateItem")["additionalProperties"] = True
    schema(new, "CreateItem")["properties"].pop("quantity")
    (change,) = diff_documents(old, new).changes
    assert ("request.property.removed", False) == (change.rule, change.breaking)


def test_recursive_schemas_terminate() -> None:
    old, new = base(), base()
    for doc in (old, new):
        schema(doc, "Item")["properties"]["parent"] = {"$ref": "#/components/schemas/Item"}
    schema(new, "Item")["properties"]["name"]["maxLength"] = 5
    changes = diff_documents(old, new).changes
    assert {"response.constraint.tightened"} == {c.rule for c in changes}
    assert not any(c.breaking for c in changes)


def test_composition_changes() -> None:
    old, new = base(), base()
    one_of = [{"type": "string"}, {"type": "integer"}]
    schema(old, "Item")["properties"]["code"] = {"oneOf": one_of}
    schema(new, "Item")["properties"]["code"] = {"oneOf": [*one_of, {"type": "boolean"}]}
    assert {"response.type.widened", "response.variant.added"} == {
        c.rule for c in diff_documents(old, new).breaking
    }
    schema(new, "Item")["properties"]["code"] = {
        "oneOf": [*one_of[:1], {"type": "integer"}, {"type": "null"}]
    }
    assert {"response.type.widened", "response.variant.added"} == {
        c.rule for c in diff_documents(old, new).breaking
    }
    schema(new, "Item")["properties"]["code"] = {
        "oneOf": [{"type": "string"}, {"type": "string"}, {"type": "integer"}]
    }
    assert {"response.variant.added"} == {c.rule for c in diff_documents(old, new).breaking}
    schema(new, "Item")["properties"]["code"] = {"oneOf": one_of[:1]}
    assert {"response.type.changed"} == {c.rule for c in diff_documents(old, new).changes}
    assert not diff_documents(old, new).is_breaking
    assert diff_documents(new, old).is_breaking  # string -> string|integer widens a response
    schema(new, "Item")["properties"]["code"] = {"anyOf": one_of}
    assert () == diff_documents(old, new).changes
    schema(new, "Item")["properties"]["code"] = {"allOf": one_of}
    assert "response.composition.changed" in {c.rule for c in diff_documents(old, new).breaking}
    schema(new, "Item")["properties"]["code"] = {"oneOf": [{"type": "string"}, {"type": "number"}]}
    assert {"response.type.widened"} == {c.rule for c in diff_documents(old, new).breaking}


def test_fewer_alternatives_in_a_request_breaks() -> None:
    old, new = base(), base()
    three = [{"type": "string"}, {"type": "string", "format": "email"}, {"type": "integer"}]
    schema(old, "CreateItem")["properties"]["code"] = {"oneOf": three}
    schema(new, "CreateItem")["properties"]["code"] = {"oneOf": three[:2]}
    assert {"request.variant.removed", "request.type.narrowed"} == {
        c.rule for c in diff_documents(old, new).breaking
    }


def test_openapi_30_nullable_is_understood() -> None:
    old, new = base(), base()
    for doc in (old, new):
        doc["openapi"] = "3.0.3"
    schema(new, "Item")["properties"]["name"]["nullable"] = True
    changes = diff_documents(old, new).changes
    assert {"response.type.widened"} == {c.rule for c in changes}
    assert {
        "POST /items 201 response",
        "GET /items 200 response",
        "GET /items/{item_id} 200 response",
    } == {c.location for c in changes}


def test_unknown_fields_becoming_forbidden_in_a_request_breaks() -> None:
    old, new = base(), base()
    schema(old, "CreateItem").pop("additionalProperties")
    (change,) = diff_documents(old, new).changes
    assert ("request.additional-properties.forbidden", True) == (change.rule, change.breaking)


def test_broken_references_do_not_crash() -> None:
    old, new = base(), base()
    schema(new, "Item")["properties"]["name"] = {"$ref": "#/components/schemas/Missing"}
    schema(new, "Item")["properties"]["quantity"] = {"$ref": "https://example.com/x.json"}
    new["paths"]["/items/{item_id}"]["get"]["responses"]["200"] = {"$ref": "#/nowhere"}
    report = diff_documents(old, new)
    assert report.is_breaking


def test_breaking_changes_come_first_and_serialize() -> None:
    new = base()
    CASES[2][1](new)  # an added operation (compatible)
    CASES[0][1](new)  # a removed operation (breaking)
    report = diff_documents(base(), new)
    assert [True, False] == [c.breaking for c in report.changes]
    data = report.to_dict()
    assert {"breaking": 1, "non_breaking": 1} == data["summary"]
    assert data["breaking"] is True
    assert {"rule", "breaking", "location", "pointer", "message"} == set(data["changes"][0])
    text = report.render_text()
    assert text.startswith("openapi 1.0.0 -> 1.0.0: 1 breaking, 1 non-breaking change(s)\n")
    assert (
        "  BREAKING DELETE /items/{item_id}: the operation was removed [operation.removed]" in text
    )


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ([], base(), "is a JSON object, not list"),
        ({"swagger": "2.0"}, base(), "unsupported contract document \\(swagger '2.0'\\)"),
        ({"info": {}}, base(), "no 'openapi' or 'asyncapi' field"),
        ({"asyncapi": "2.6.0"}, base(), "asyncapi '2.6.0'.*supported kinds: openapi, asyncapi"),
        ({"openapi": "4.0"}, base(), "openapi '4.0'"),
    ],
)
def test_unknown_documents_are_refused(old: object, new: object, match: str) -> None:
    with pytest.raises(ContractDiffError, match=match):
        diff_documents(old, new)


def test_two_kinds_cannot_be_compared() -> None:
    with pytest.raises(
        ContractDiffError, match="cannot compare a openapi document with a asyncapi"
    ):
        diff_documents(base(), {"asyncapi": "3.0.0"})


def test_a_plugged_in_kind_reports_through_the_same_model() -> None:
    from mic.diff import DocumentKind, document_kinds, register_document_kind
    from mic.diff._registry import _KINDS

    def rules(old: Any, new: Any) -> list[Change]:
        return [Change("type.removed", True, "type Order", "/types/Order", "removed")]

    register_document_kind(DocumentKind("fakeapi", lambda d: "fakeapi" in d, rules))
    try:
        assert ["openapi", "asyncapi", "fakeapi"] == [k.name for k in document_kinds()]
        report = diff_documents({"fakeapi": "1"}, {"fakeapi": "1", "info": {"version": 2}})
        assert ("fakeapi", None, "2", True) == (
            report.kind,
            report.old_version,
            report.new_version,
            report.is_breaking,
        )
    finally:
        _KINDS.pop("fakeapi")
    with pytest.raises(TypeError, match="expected a DocumentKind"):
        register_document_kind("fakeapi")  # type: ignore[arg-type]


def test_the_documents_are_not_modified() -> None:
    old, new = base(), base()
    CASES[0][1](new)
    snapshot = copy.deepcopy((old, new))
    diff_documents(old, new)
    assert snapshot == (old, new)

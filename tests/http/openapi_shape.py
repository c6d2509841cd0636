"""Reduce OpenAPI documents to what the API means, so generators' cosmetic choices don't matter."""

from __future__ import annotations

import json
from typing import Any

# `additionalProperties` is left out: Litestar's generator never emits it for pydantic models.
_KEEP = {
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "const",
}


def canonical(value: Any) -> str:
    """A stable text form: sorted keys, and 100.0 written as 100."""
    return json.dumps(value, sort_keys=True, default=str)


def _resolve(node: Any, document: dict[str, Any]) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        *_, name = node["$ref"].split("/")
        node = document["components"]["schemas"][name]
    return node


def schema_shape(node: Any, document: dict[str, Any], depth: int = 0) -> Any:
    """The meaning of a schema: types, properties, constraints; titles and examples dropped."""
    node = _resolve(node, document)
    if not isinstance(node, dict) or depth > 8:
        return node
    alternatives = node.get("anyOf") or node.get("oneOf")
    if alternatives:
        shapes = [schema_shape(a, document, depth + 1) for a in alternatives]
        return {"anyOf": sorted(shapes, key=canonical)}
    shape: dict[str, Any] = {}
    for key, value in node.items():
        if key not in _KEEP:
            continue
        if key == "properties":
            shape[key] = {k: schema_shape(v, document, depth + 1) for k, v in value.items()}
        elif key == "items":
            shape[key] = schema_shape(value, document, depth + 1)
        elif key == "required":
            if value:  # an empty list says nothing; some generators write it, some don't
                shape[key] = sorted(value)
        elif key == "type" and isinstance(value, list):
            shape[key] = sorted(value)
        elif isinstance(value, float) and value.is_integer():
            shape[key] = int(value)
        else:
            shape[key] = value
    return shape


def api_shape(document: dict[str, Any]) -> dict[str, Any]:
    """Operations by (path, method): parameters, body, answers and security."""
    operations: dict[str, Any] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "delete", "patch", "head", "options"}:
                continue
            body = operation.get("requestBody")
            operations[f"{method.upper()} {path}"] = {
                "operationId": operation.get("operationId"),
                "tags": operation.get("tags"),
                "parameters": sorted(
                    (
                        p["name"],
                        p["in"],
                        bool(p.get("required")),
                        canonical(schema_shape(p["schema"], document)),
                    )
                    for p in operation.get("parameters", [])
                ),
                "body": None
                if body is None
                else (
                    bool(body.get("required")),
                    {
                        media: schema_shape(c["schema"], document)
                        for media, c in body["content"].items()
                    },
                ),
                "responses": {
                    status: {
                        media: schema_shape(c.get("schema"), document)
                        for media, c in (answer.get("content") or {}).items()
                    }
                    for status, answer in operation["responses"].items()
                },
                "security": operation.get("security"),
            }
    return operations

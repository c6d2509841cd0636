"""An OpenAPI 3.1 document built from route specs alone, with no web framework."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, Literal

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

from mic.http._pipeline import CompiledRoute, HttpRouterConfig, compile_routes
from mic.http._problem_schema import PROBLEM_SCHEMA
from mic.http._render import PROBLEM_JSON
from mic.http._specs import HttpRouteSpec

_REF = "#/components/schemas/{model}"


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
    }


def error_statuses(route: CompiledRoute) -> dict[int, str]:
    """Every problem+json answer a compiled route documents: status to description."""
    statuses: dict[int, str] = {}
    signature = route.signature
    if signature.parameters or signature.body_model is not None:
        statuses[422] = "Validation failed"
    if signature.body_model is not None:
        statuses[400] = "Malformed request body"
        statuses[413] = "Request body too large"
        statuses[415] = "Unsupported media type"
    statuses.update(route.error_statuses)
    for error in route.spec.errors:
        statuses.setdefault(error.http_status_code, HTTPStatus(error.http_status_code).phrase)
    return dict(sorted(statuses.items()))


def _models(routes: Iterable[CompiledRoute]) -> list[Any]:
    found: list[Any] = []
    for route in routes:
        candidates = [route.signature.body_model, route.spec.response_model,
                      *route.spec.responses.values()]  # fmt: skip
        found.extend(c for c in candidates if c is not None and c not in found)
    return found


def _parameter_schema(annotation: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(annotation).json_schema(ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    return schema


def _parameters(route: CompiledRoute, components: dict[str, Any]) -> list[dict[str, Any]]:
    parameters = []
    for param in route.signature.parameters:
        entry: dict[str, Any] = {
            "name": param.alias, "in": param.location, "required": param.required,
            "schema": _parameter_schema(param.annotation, components),
        }  # fmt: skip
        if param.description:
            entry["description"] = param.description
        parameters.append(entry)
    return parameters


def _operation(
    route: CompiledRoute, method: str, schemas: dict[Any, Any], components: dict[str, Any]
) -> dict[str, Any]:
    spec = route.spec
    operation: dict[str, Any] = {
        "operationId": spec.name if len(spec.methods) == 1 else f"{spec.name}.{method.lower()}",
        "tags": list(spec.openapi_tags),
        "summary": spec.summary or spec.name,
    }
    if spec.description:
        operation["description"] = spec.description
    if spec.deprecated:
        operation["deprecated"] = True
    if parameters := _parameters(route, components):
        operation["parameters"] = parameters
    if (model := route.signature.body_model) is not None:
        schema = schemas[(model, "validation")]
        if not route.signature.body_required:
            schema = {"anyOf": [schema, {"type": "null"}]}
        operation["requestBody"] = {
            "required": route.signature.body_required,
            "content": {"application/json": {"schema": schema}},
        }
    responses: dict[str, Any] = {}
    success: dict[str, Any] = {"description": HTTPStatus(spec.status_code).phrase}
    if spec.response_model is not None:
        schema = schemas[(spec.response_model, "serialization")]
        success["content"] = {"application/json": {"schema": schema}}
    elif spec.status_code not in (204, 304):
        success["content"] = {"application/json": {"schema": {}}}
    responses[str(spec.status_code)] = success
    for status, model in spec.responses.items():
        other: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if model is not None:
            other["content"] = {"application/json": {"schema": schemas[(model, "serialization")]}}
        responses[str(status)] = other
    for status, description in error_statuses(route).items():
        responses.setdefault(str(status), _problem(description))
    operation["responses"] = responses
    if route.security:
        operation["security"] = [{s.scheme_name: list(s.scopes)} for s in route.security]
    return operation


def build_openapi(
    routes: Iterable[HttpRouteSpec],
    *,
    title: str = "mic service",
    version: str = "0.1.0",
    config: HttpRouterConfig | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """Describe `routes` as an OpenAPI 3.1 document (a JSON-ready dict).

    Raises:
        RouteSpecError: A route cannot be served (the same checks as the adapters make).
    """
    compiled = compile_routes(tuple(routes), config, prefix)
    models = _models(compiled)
    modes: tuple[Literal["validation"], Literal["serialization"]] = ("validation", "serialization")
    pairs = [(model, mode) for model in models for mode in modes]
    keyed, definitions = models_json_schema(pairs, ref_template=_REF)
    components: dict[str, Any] = dict(definitions.get("$defs", {}))
    components["ProblemDetails"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    security_schemes: dict[str, Any] = {}
    for route in compiled:
        if not route.spec.include_in_schema:
            continue
        for method in route.spec.methods:
            operation = _operation(route, method, keyed, components)
            paths.setdefault(route.path, {})[method.lower()] = operation
        for requirement in route.security:
            security_schemes[requirement.scheme_name] = dict(requirement.scheme)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": dict(sorted(components.items()))},
    }
    if security_schemes:
        document["components"]["securitySchemes"] = security_schemes
    return document

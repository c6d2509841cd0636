"""An OpenAPI 3.1 document built from route specs alone, with no web framework."""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from mic.http._interceptors import HttpRouterConfig
from mic.http._problem_schema import PROBLEM_SCHEMA
from mic.http._render import PROBLEM_JSON
from mic.http._route import CompiledRoute, compile_routes
from mic.http._specs import HttpRouteSpec, RouteSpecError

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


def _models(routes: Iterable[CompiledRoute]) -> list[tuple[Any, JsonSchemaMode]]:
    """Each model with the mode it is documented in: bodies as read, answers as written."""
    found: list[tuple[Any, JsonSchemaMode]] = []
    for route in routes:
        candidates: list[tuple[Any, JsonSchemaMode]] = [
            (route.signature.body_model, "validation"),
            (route.spec.response_model, "serialization"),
            *((model, "serialization") for model in route.spec.responses.values()),
        ]
        found.extend(c for c in candidates if c[0] is not None and c not in found)
    return found


def _schemas(
    pairs: list[tuple[Any, JsonSchemaMode]],
) -> tuple[dict[tuple[Any, JsonSchemaMode], Any], dict[str, Any]]:
    """JSON Schemas of models and plain types (``list[str]``, ``dict[str, Any]``) together,
    so shared models become one component each."""
    inputs = [(annotation, mode, TypeAdapter(annotation).core_schema) for annotation, mode in pairs]
    keyed, definitions = GenerateJsonSchema(ref_template=_REF).generate_definitions(inputs)
    return dict(keyed), {"$defs": definitions}


_COMPONENT_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def _readable_names(components: dict[str, Any]) -> dict[str, str]:
    """Component name -> the model's own title, where pydantic's name is mangled.

    pydantic names a parametrized generic after its arguments
    (``HttpSuccessEnvelope_Thing_Union_dict_str__Any___NoneType__``); the model's title
    (``ThingEnvelope``) is what a reader and a client generator should see.
    """
    renames: dict[str, str] = {}
    for name, schema in components.items():
        stem, dash, mode = name.partition("-")
        title = schema.get("title") if isinstance(schema, dict) else None
        if not isinstance(title, str) or title == stem or not _COMPONENT_NAME.match(title):
            continue
        renames[name] = title + dash + mode
    targets = list(renames.values())
    taken = set(components) - set(renames)
    return {
        old: new for old, new in renames.items() if targets.count(new) == 1 and new not in taken
    }


def _renamed(value: Any, renames: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {key: _renamed(item, renames) for key, item in value.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[-1]
            out["$ref"] = _REF.format(model=renames.get(name, name))
        return out
    if isinstance(value, list):
        return [_renamed(item, renames) for item in value]
    return value


def _parameter_schema(annotation: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(annotation).json_schema(ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    return schema


def _parameters(route: CompiledRoute, components: dict[str, Any]) -> list[dict[str, Any]]:
    parameters = []
    for param in route.signature.parameters:
        entry: dict[str, Any] = {
            "name": param.alias,
            "in": param.location,
            "required": param.required,
            "schema": _parameter_schema(param.annotation, components),
        }
        if param.description:
            entry["description"] = param.description
        parameters.append(entry)
    return parameters


def operation_id(route: CompiledRoute, method: str) -> str:
    """The operationId of `route` for `method`: its name (``name.method`` if it has several)."""
    spec = route.spec
    return spec.name if len(spec.methods) == 1 else f"{spec.name}.{method.lower()}"


def _links(route: CompiledRoute, targets: dict[str, CompiledRoute]) -> dict[str, dict[str, Any]]:
    links: dict[str, dict[str, Any]] = {}
    for name, link in route.spec.links.items():
        target = targets.get(link.operation)
        where = f"route {route.spec.name!r}, link {name!r}"
        if target is None:
            raise RouteSpecError(f"{where}: no operation {link.operation!r}")
        known = {p.alias for p in target.signature.parameters}
        if unknown := sorted(set(link.parameters) - known):
            raise RouteSpecError(f"{where}: {link.operation!r} has no parameter(s) {unknown}")
        entry: dict[str, Any] = {"operationId": link.operation, "parameters": dict(link.parameters)}
        if link.description:
            entry["description"] = link.description
        links[name] = entry
    return links


def _operation(
    route: CompiledRoute,
    method: str,
    schemas: dict[Any, Any],
    components: dict[str, Any],
    targets: dict[str, CompiledRoute],
) -> dict[str, Any]:
    spec = route.spec
    operation: dict[str, Any] = {
        "operationId": operation_id(route, method),
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
    if links := _links(route, targets):
        success["links"] = links
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
    description: str | None = None,
    config: HttpRouterConfig | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """Describe `routes` as an OpenAPI 3.1 document (a JSON-ready dict).

    This is the one document mic publishes: both adapters serve it byte for byte (see
    `ApiDocs`). Every error answer references one ``ProblemDetails`` component; schemas say
    what the validators accept (``additionalProperties: false`` where a model forbids
    extras).

    Raises:
        RouteSpecError: A route cannot be served (the same checks as the adapters make), or
            a link names an unknown operation or parameter.
    """
    compiled = compile_routes(tuple(routes), config, prefix)
    keyed, definitions = _schemas(_models(compiled))
    components: dict[str, Any] = dict(definitions.get("$defs", {}))
    components["ProblemDetails"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    security_schemes: dict[str, Any] = {}
    targets = {
        operation_id(route, method): route
        for route in compiled
        if route.spec.include_in_schema
        for method in route.spec.methods
    }
    for route in compiled:
        if not route.spec.include_in_schema:
            continue
        for method in route.spec.methods:
            operation = _operation(route, method, keyed, components, targets)
            paths.setdefault(route.path, {})[method.lower()] = operation
        for requirement in route.security:
            security_schemes[requirement.scheme_name] = dict(requirement.scheme)
    renames = _readable_names(components)
    components = {renames.get(name, name): schema for name, schema in components.items()}
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": info,
        "paths": _renamed(paths, renames),
        "components": {"schemas": _renamed(dict(sorted(components.items())), renames)},
    }
    if security_schemes:
        document["components"]["securitySchemes"] = security_schemes
    return document

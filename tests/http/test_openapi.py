"""Both frameworks publish an OpenAPI document describing the same API as the specs do."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from litestar import Litestar

from mic.fastapi import build_fastapi_router
from mic.http import HttpRouteSpec, build_openapi
from mic.litestar import build_litestar_router
from tests.http.openapi_shape import api_shape
from tests.http.routes import item_routes
from tests.support import build_app, client_for


async def _published(framework: str, builder: bool) -> dict[str, Any]:
    """The document each app serves at its framework's usual place."""
    routes = item_routes()
    if framework == "fastapi":
        app: Any = build_app("fastapi", routes) if builder else FastAPI()
        if not builder:
            app.include_router(build_fastapi_router(routes=routes))
        path = "/openapi.json"
    else:
        app = (
            build_app("litestar", routes)
            if builder
            else Litestar(route_handlers=[build_litestar_router(routes=routes)])
        )
        path = "/docs/openapi.json" if builder else "/schema/openapi.json"
    async with client_for(app) as client:
        response = await client.get(path)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _litestar_known_differences(shape: dict[str, Any]) -> dict[str, Any]:
    """Litestar's generator documents a Decimal parameter as a string only, and an optional
    request body as required; everything else must match the spec document exactly."""
    search = shape["GET /search"]["parameters"]
    shape["GET /search"]["parameters"] = [
        (n, i, r, '{"anyOf": [{"type": "null"}, {"type": "number"}, {"type": "string"}]}') if n == "price" else (n, i, r, s)
        for n, i, r, s in search
    ]  # fmt: skip
    _, content = shape["PATCH /items/{item_id}"]["body"]
    shape["PATCH /items/{item_id}"]["body"] = (False, content)
    return shape


async def test_fastapi_documents_exactly_what_the_specs_declare() -> None:
    expected = api_shape(build_openapi(item_routes()))
    for builder in (True, False):
        assert expected == api_shape(await _published("fastapi", builder))


async def test_litestar_documents_what_the_specs_declare() -> None:
    expected = api_shape(build_openapi(item_routes()))
    for builder in (True, False):
        assert expected == _litestar_known_differences(
            api_shape(await _published("litestar", builder))
        )


async def test_documents_cover_every_route_and_hide_the_extras() -> None:
    document = build_openapi(item_routes())
    assert {"/items", "/items/{item_id}", "/search", "/whoami", "/raw", "/text", "/values",
            "/headers", "/explode", "/unavailable", "/blocking", "/release",
            "/custom-options"} == set(document["paths"])  # fmt: skip
    assert {"get", "put", "delete", "patch"} == set(document["paths"]["/items/{item_id}"])
    for framework in ("fastapi", "litestar"):
        published = await _published(framework, True)
        assert {"get", "put", "delete", "patch"} == set(published["paths"]["/items/{item_id}"])


def test_errors_and_validation_answers_are_documented_as_problems() -> None:
    operation = build_openapi(item_routes())["paths"]["/items/{item_id}"]["get"]
    assert {"200", "404", "422"} == set(operation["responses"])
    problem = operation["responses"]["404"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/ProblemDetails"}


def test_spec_document_metadata_and_options() -> None:
    async def hidden() -> None: ...

    routes = (*item_routes(), HttpRouteSpec(method="GET", path="/internal", name="internal", category="x",
                                            handler=hidden, include_in_schema=False, deprecated=True))  # fmt: skip
    document = build_openapi(routes, title="Items", version="2.0.0", prefix="/v2")
    assert document["info"] == {"title": "Items", "version": "2.0.0"}
    assert document["openapi"] == "3.1.0"
    assert "/v2/internal" not in document["paths"]
    assert "/v2/items" in document["paths"]
    create = document["paths"]["/v2/items"]["post"]
    assert (
        create["summary"],
        create["tags"],
        create["operationId"],
    ) == ("Create an item", ["items"], "items.create")
    whoami = document["paths"]["/v2/whoami"]
    assert (
        whoami["get"]["operationId"],
        whoami["post"]["operationId"],
    ) == ("whoami.get", "whoami.post")

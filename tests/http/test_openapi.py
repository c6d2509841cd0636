"""One contract: both frameworks serve `build_openapi`'s document byte for byte, at the same paths."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from litestar import Litestar
from openapi_spec_validator import validate

from mic.contracts import HttpSuccessEnvelope, PageMeta, StrictSchema
from mic.fastapi import build_fastapi_router
from mic.fastapi import serve_openapi as serve_fastapi_openapi
from mic.http import ApiDocs, HttpLink, HttpRouteSpec, RouteSpecError, build_openapi
from mic.litestar import build_litestar_router
from mic.litestar import serve_openapi as serve_litestar_openapi
from tests.http.openapi_shape import api_shape
from tests.http.routes import item_routes
from tests.support import build_app, client_for


def _plain_app(framework: str, routes: tuple[HttpRouteSpec, ...]) -> Any:
    """A plain framework app with a mic router and mic's document, as docs/http.md shows."""
    docs = ApiDocs(build_openapi(routes, title="mic service", version="0.1.0"))
    if framework == "fastapi":
        app: Any = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        app.include_router(build_fastapi_router(routes=routes))
        serve_fastapi_openapi(app, docs)
        return app
    app = Litestar(route_handlers=[build_litestar_router(routes=routes)], openapi_config=None)
    serve_litestar_openapi(app, docs)
    return app


@pytest.mark.parametrize("plain", [False, True], ids=["builder", "plain-app"])
async def test_every_app_serves_the_spec_document_byte_for_byte(
    framework: str, plain: bool
) -> None:
    routes = item_routes()
    expected = ApiDocs(build_openapi(routes)).openapi_json
    app = _plain_app(framework, routes) if plain else build_app(framework, routes)
    async with client_for(app) as client:
        response = await client.get("/openapi.json")
        head = await client.head("/openapi.json")
    assert (200, "application/json", expected) == (
        response.status_code,
        response.headers["content-type"],
        response.content,
    )
    assert (200, b"", str(len(expected))) == (
        head.status_code,
        head.content,
        head.headers["content-length"],
    )


def test_the_document_is_a_valid_openapi_3_1_document() -> None:
    validate(build_openapi(item_routes()))


def test_every_error_answer_references_the_one_problem_component() -> None:
    document = build_openapi(item_routes())
    references = {
        answer["content"]["application/problem+json"]["schema"]["$ref"]
        for item in document["paths"].values()
        for operation in item.values()
        for status, answer in operation["responses"].items()
        if status.startswith(("4", "5"))
    }
    assert {"#/components/schemas/ProblemDetails"} == references


def test_strict_models_forbid_extra_properties_in_the_document() -> None:
    schemas = build_openapi(item_routes())["components"]["schemas"]
    assert False is schemas["CreateItemPayload"]["additionalProperties"]
    assert {"type": "integer", "default": 0, "title": "Quantity"} == schemas["CreateItemPayload"][
        "properties"
    ]["quantity"]


class Thing(StrictSchema):
    id: int
    name: str


async def _create(*, payload: Thing) -> HttpSuccessEnvelope[Thing]: ...
async def _get(*, thing_id: int) -> HttpSuccessEnvelope[Thing]: ...
async def _list(*, cursor: str | None = None) -> HttpSuccessEnvelope[list[Thing], PageMeta]: ...


def _thing_routes(**link: HttpLink) -> tuple[HttpRouteSpec, ...]:
    return (
        HttpRouteSpec(
            method="POST",
            path="/things",
            name="things.create",
            category="things",
            handler=_create,
            status_code=201,
            links=link,
            response_model=HttpSuccessEnvelope[Thing],
        ),
        HttpRouteSpec(
            method="GET",
            path="/things/{thing_id}",
            name="things.get",
            category="things",
            handler=_get,
            response_model=HttpSuccessEnvelope[Thing],
        ),
        HttpRouteSpec(
            method="GET",
            path="/things",
            name="things.list",
            category="things",
            handler=_list,
            response_model=HttpSuccessEnvelope[list[Thing], PageMeta],
        ),
    )


def test_the_envelope_documents_success_data_and_a_nullable_or_typed_meta() -> None:
    schemas = build_openapi(_thing_routes())["components"]["schemas"]
    single = schemas["ThingEnvelope"]
    assert (
        ["data", "meta", "success"],
        {"const": True, "default": True, "title": "Success", "type": "boolean"},
    ) == (sorted(single["required"]), single["properties"]["success"])
    assert {"type": "null"} in single["properties"]["meta"]["anyOf"]
    page = schemas["ThingListPageMetaEnvelope"]["properties"]["meta"]
    assert {"$ref": "#/components/schemas/PageMeta"} == page


def test_links_lead_from_a_create_answer_to_other_operations() -> None:
    link = HttpLink("things.get", {"thing_id": "$response.body#/data/id"}, "The new thing")
    document = build_openapi(_thing_routes(get=link))
    validate(document)
    created = document["paths"]["/things"]["post"]["responses"]["201"]
    assert {
        "get": {
            "operationId": "things.get",
            "description": "The new thing",
            "parameters": {"thing_id": "$response.body#/data/id"},
        }
    } == created["links"]


@pytest.mark.parametrize(
    ("link", "message"),
    [
        (HttpLink("things.nowhere"), "link 'bad': no operation 'things.nowhere'"),
        (
            HttpLink("things.get", {"id": "$response.body#/data/id"}),
            r"has no parameter\(s\) \['id'\]",
        ),
    ],
)
def test_a_link_to_an_unknown_operation_or_parameter_is_refused(
    link: HttpLink, message: str
) -> None:
    with pytest.raises(RouteSpecError, match=message):
        build_openapi(_thing_routes(bad=link))


def test_operation_ids_are_the_route_names_and_unique() -> None:
    document = build_openapi(item_routes())
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert {"items.create", "whoami.get", "whoami.post"} <= set(ids)


def test_spec_document_metadata_and_options() -> None:
    async def hidden() -> None: ...

    routes = (
        *item_routes(),
        HttpRouteSpec(
            method="GET",
            path="/internal",
            name="internal",
            category="x",
            handler=hidden,
            include_in_schema=False,
            deprecated=True,
        ),
    )
    document = build_openapi(routes, title="Items", version="2.0.0", prefix="/v2")
    assert document["info"] == {"title": "Items", "version": "2.0.0"}
    assert document["openapi"] == "3.1.0"
    assert "/v2/internal" not in document["paths"]
    create = document["paths"]["/v2/items"]["post"]
    assert ("Create an item", ["items"], "items.create") == (
        create["summary"],
        create["tags"],
        create["operationId"],
    )


async def test_plain_apps_refuse_to_publish_over_the_frameworks_own_document() -> None:
    docs = ApiDocs(build_openapi(item_routes()))
    with pytest.raises(
        RouteSpecError, match=r"FastAPI already serves its own document at /docs, /openapi.json"
    ):
        serve_fastapi_openapi(FastAPI(), docs)
    with pytest.raises(
        RouteSpecError, match="Litestar already serves its own document under /docs"
    ):
        serve_litestar_openapi(Litestar(openapi_config=_litestar_openapi("/docs")), docs)
    # Litestar's own document under /schema does not collide: both are served.
    app = Litestar(route_handlers=[build_litestar_router(routes=item_routes())])
    serve_litestar_openapi(app, docs)
    async with client_for(app) as client:
        assert 200 == (await client.get("/schema/openapi.json")).status_code
        assert docs.openapi_json == (await client.get("/openapi.json")).content


def _litestar_openapi(path: str) -> Any:
    from litestar.openapi import OpenAPIConfig

    return OpenAPIConfig(title="x", version="1", path=path)


async def test_frameworks_own_documents_still_describe_a_plain_router() -> None:
    """Without `serve_openapi`, a plain app keeps its framework's generator, which agrees."""
    routes = item_routes()
    expected = api_shape(build_openapi(routes))
    fastapi_app = FastAPI()
    fastapi_app.include_router(build_fastapi_router(routes=routes))
    assert expected == api_shape(fastapi_app.openapi())
    litestar_app = Litestar(route_handlers=[build_litestar_router(routes=routes)])
    shape = api_shape(litestar_app.openapi_schema.to_schema())
    # Litestar documents a Decimal parameter as a string only and an optional body as required.
    assert set(expected) == set(shape)
    assert expected["GET /items/{item_id}"] == shape["GET /items/{item_id}"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"openapi_url": "openapi.json"}, "must start with '/'"),
        ({"docs_url": "/docs/"}, "must start with '/' and not end with '/'"),
        ({"docs_url": "/openapi.json"}, "openapi_url and docs_url must differ"),
    ],
)
def test_docs_urls_are_checked(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ApiDocs({"openapi": "3.1.0"}, **kwargs)


async def test_documents_can_be_switched_off(framework: str) -> None:
    if framework == "fastapi":
        from mic.fastapi import build_fastapi_app

        app: Any = build_fastapi_app(routes=item_routes(), openapi_url=None)
    else:
        from mic.litestar import build_litestar_app

        app = build_litestar_app(routes=item_routes(), openapi_url=None)
    async with client_for(app) as client:
        assert [404, 404] == [(await client.get(p)).status_code for p in ("/openapi.json", "/docs")]


async def test_the_one_call_apps_describe_the_service(framework: str) -> None:
    if framework == "fastapi":
        from mic.fastapi import build_fastapi_app

        app: Any = build_fastapi_app(
            routes=item_routes(), title="Items", version="2.0", description="What it does"
        )
    else:
        from mic.litestar import build_litestar_app

        app = build_litestar_app(
            routes=item_routes(), title="Items", version="2.0", description="What it does"
        )
    async with client_for(app) as client:
        info = (await client.get("/openapi.json")).json()["info"]
    assert {"title": "Items", "version": "2.0", "description": "What it does"} == info

"""Edge cases of the pipeline, the renderers and the adapters."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, HTTPException
from litestar import Litestar, get
from pydantic import BaseModel

from mic import MissingDependencyError
from mic._deps import require
from mic.fastapi import build_fastapi_router, install_problem_handlers
from mic.http import (
    Header,
    HttpRequestContext,
    HttpResponseSpec,
    HttpRouteSpec,
    Path,
    ProblemDetails,
    build_openapi,
    compile_routes,
    render_problem,
)
from mic.litestar import build_litestar_router, problem_exception_handlers
from mic.model import DomainError, NotFoundError
from tests.support import client_for, make_client, wire


class Created(BaseModel):
    id: int


async def documented(
    *,
    item_id: Annotated[int, Path(description="The item")],
    trace: Annotated[tuple[str, ...], Header(description="Trace ids")] = (),
) -> dict[str, Any]:
    return {"id": item_id, "trace": list(trace)}


DOCUMENTED = HttpRouteSpec(
    method="GET",
    path="/docs-test/{item_id}",
    name="documented",
    category="c",
    handler=documented,
    description="Longer text",
    deprecated=True,
    responses={202: Created, 204: None},
)


def test_spec_document_carries_descriptions_and_extra_responses() -> None:
    operation = build_openapi([DOCUMENTED])["paths"]["/docs-test/{item_id}"]["get"]
    assert (operation["description"], operation["deprecated"]) == ("Longer text", True)
    assert [p["description"] for p in operation["parameters"]] == ["The item", "Trace ids"]
    assert operation["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Created"
    }
    assert operation["responses"]["204"] == {"description": "No Content"}


def test_frameworks_document_extra_responses_too() -> None:
    fastapi = FastAPI()
    fastapi.include_router(build_fastapi_router(routes=[DOCUMENTED]))
    litestar = Litestar(route_handlers=[build_litestar_router(routes=[DOCUMENTED])])
    for document in (fastapi.openapi(), litestar.openapi_schema.to_schema()):
        responses = document["paths"]["/docs-test/{item_id}"]["get"]["responses"]
        assert {"200", "202", "204", "422"} == set(responses)


async def test_tuple_headers_and_the_context_pipeline() -> None:
    (route,) = compile_routes([DOCUMENTED])
    assert repr(route) == "CompiledRoute('documented', GET /docs-test/{item_id})"
    context = HttpRequestContext(
        method="GET",
        path="/docs-test/3",
        path_params={"item_id": "3"},
        headers=[("trace", "a"), ("trace", "b")],
    )
    response = await route.handle(context)
    assert (
        response.status_code,
        response.body,
        response.header("content-type"),
    ) == (200, b'{"id":3,"trace":["a","b"]}', "application/json")
    assert None is response.header("x-missing")


async def test_unserializable_results_are_a_logged_500(
    framework: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def odd() -> object:
        return object()

    routes = [HttpRouteSpec(method="GET", path="/odd", name="odd", category="c", handler=odd)]
    with caplog.at_level(logging.ERROR, logger="mic.http"):
        async with make_client(framework, routes) as client:
            response = await client.get("/odd")
    assert (response.status_code, response.json()["code"]) == (500, "internal_error")
    assert any(r.exc_info for r in caplog.records)


def test_unserializable_error_details_are_dropped_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="mic.http"):
        response = render_problem(DomainError("odd", "Odd", {"value": object()}))
    assert b'"details":{}' in response.body
    assert "not JSON-serializable" in caplog.text


async def test_fastapi_problem_handlers_cover_user_routes() -> None:
    app = FastAPI()
    app.include_router(build_fastapi_router(routes=[DOCUMENTED]))

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(status_code=418, detail="I am a teapot")

    install_problem_handlers(app)
    async with client_for(app) as client:
        wrong = await client.post("/teapot")
        tea = await client.get("/teapot")
        missing = await client.get("/nothing")
    assert (
        wrong.status_code,
        wrong.headers["allow"],
        wrong.json()["code"],
    ) == (405, "GET", "method_not_allowed")
    assert (
        tea.status_code,
        tea.json()["detail"],
        tea.json()["code"],
    ) == (418, "I am a teapot", "i'm_a_teapot")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_litestar_problem_handlers_cover_user_routes() -> None:
    @get("/plain")
    async def plain() -> str:
        return "plain"

    app = Litestar(
        route_handlers=[plain, build_litestar_router(routes=[DOCUMENTED])],
        exception_handlers=problem_exception_handlers(),
        logging_config=None,
    )
    async with client_for(app) as client:
        wrong = await client.post("/plain")
        missing = await client.get("/nothing")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_litestar_without_openapi_serves_secured_routes() -> None:
    """With OpenAPI disabled there is nowhere to publish security schemes: routes still work."""
    from mic.http import HttpRouterConfig
    from tests.http.test_interceptors import Recorder, Tag, _routes

    recorder = Recorder()
    config = HttpRouterConfig(services={Recorder: recorder})
    app = Litestar(
        route_handlers=[build_litestar_router(routes=_routes(auth=Tag("a")), config=config)],
        openapi_config=None,
        logging_config=None,
    )
    async with client_for(app) as client:
        response = await client.get("/who")
    assert (200, {"subject": "a"}) == (response.status_code, response.json())
    assert ["a>", "<a"] == recorder.events


def test_require_names_the_extra() -> None:
    assert require("json", "core").__name__ == "json"
    with pytest.raises(
        MissingDependencyError, match=r"install it with: pip install 'mic-kit\[redis\]'"
    ):
        require("definitely_not_installed_mod.sub", "redis")


def test_problem_schema_accepts_extension_members() -> None:
    problem = ProblemDetails(
        title="Not Found", status=404, detail="x", code="not_found", instance="/a"
    )  # type: ignore[call-arg]
    assert problem.model_dump()["instance"] == "/a"
    assert NotFoundError().http_status_code == 404


async def _tamper(*, item_id: str, context: HttpRequestContext) -> dict[str, Any]:
    seen = {"item_id": item_id, "params": dict(context.path_params)}
    context.path_params["item_id"] = "tampered"
    context.path_params["extra"] = "added"
    return seen


async def _plain(*, context: HttpRequestContext) -> dict[str, Any]:
    seen = dict(context.path_params)
    context.path_params["extra"] = "added"
    return seen


TAMPERING = (
    HttpRouteSpec(
        method="GET", path="/items/{item_id}", name="tamper", category="t", handler=_tamper
    ),
    HttpRouteSpec(method="GET", path="/plain", name="plain", category="t", handler=_plain),
)


async def test_a_context_s_path_params_belong_to_its_request_alone(framework: str) -> None:
    """Changing them in a handler leaves the next request to the same path as it came.

    Litestar's routing (and the lane's cache, ADR 0072) hand every request to one path the
    same parameter dict.
    """
    async with make_client(framework, TAMPERING) as client:
        items = [(await client.get("/items/1")).json() for _ in "ab"]
        plains = [(await client.get("/plain")).json() for _ in "ab"]
    assert [{"item_id": "1", "params": {"item_id": "1"}}] * 2 == items
    assert [{}, {}] == plains


@dataclass(frozen=True, slots=True)
class _Accepted(HttpResponseSpec):
    status_code: int = 202


async def _accepted() -> HttpResponseSpec:
    return _Accepted(body="queued", headers={"Content-Type": "text/csv"})


async def test_a_response_spec_subclass_is_rendered_like_the_spec(framework: str) -> None:
    route = HttpRouteSpec(method="GET", path="/a", name="a", category="t", handler=_accepted)
    async with make_client(framework, [route]) as client:
        answer = wire(await client.get("/a"))
    assert (202, [("content-length", "6"), ("content-type", "text/csv")], b"queued") == answer

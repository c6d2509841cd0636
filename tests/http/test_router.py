"""The compiled router: path lookup, method dispatch, and its mounts in each framework."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, FastAPI
from litestar import Litestar, Router, get
from litestar.params import PathParameter
from starlette.routing import Match

from mic.fastapi import build_fastapi_router, install_problem_handlers
from mic.fastapi import problem_exception_handlers as fastapi_problem_handlers
from mic.http import CompiledRouter, HttpRouterConfig, HttpRouteSpec, RouteSpecError
from mic.litestar import build_litestar_router, problem_exception_handlers
from mic.litestar import install_problem_handlers as install_litestar_problem_handlers
from mic.observability import CorrelationIdInterceptor
from tests.support import StampMiddleware, client_for, wire


async def _item(*, item_id: int) -> dict[str, Any]:
    return {"id": item_id}


async def _search() -> dict[str, str]:
    return {"found": "search"}


async def _root() -> dict[str, str]:
    return {"at": "root"}


async def _create() -> dict[str, str]:
    return {"created": "yes"}


async def _other(*, other: str) -> dict[str, str]:
    return {"other": other}


async def _x(*, x: str) -> dict[str, str]:
    return {"x": x}


async def _y(*, y: str) -> dict[str, str]:
    return {"y": y}


async def _nested(*, item_id: str, note_id: str) -> dict[str, str]:
    return {"item": item_id, "note": note_id}


ROUTES = (
    HttpRouteSpec(
        method="GET", path="/items/{item_id}", name="items.get", category="items", handler=_item
    ),
    HttpRouteSpec(
        method="GET", path="/items/search", name="items.search", category="items", handler=_search
    ),
    HttpRouteSpec(
        method="POST",
        path="/items",
        name="items.create",
        category="items",
        handler=_create,
        status_code=201,
    ),
    HttpRouteSpec(
        method="GET",
        path="/items/{item_id}/notes/{note_id}",
        name="notes.get",
        category="items",
        handler=_nested,
    ),
    HttpRouteSpec(method="GET", path="/", name="root", category="root", handler=_root),
)


def _found(router: CompiledRouter, path: str) -> tuple[str, Mapping[str, str]] | None:
    found = router.match(path)
    return None if found is None else (found[0].path, found[1])


def test_static_paths_params_and_trailing_slashes() -> None:
    router = CompiledRouter(ROUTES)
    assert ("/items", {}) == _found(router, "/items")
    assert ("/items", {}) == _found(router, "/items/")
    assert ("/", {}) == _found(router, "/")
    assert ("/items/{item_id}", {"item_id": "42"}) == _found(router, "/items/42")
    assert ("/items/{item_id}", {"item_id": "42"}) == _found(router, "/items/42/")
    # A literal segment beats a placeholder, whatever the declaration order.
    assert ("/items/search", {}) == _found(router, "/items/search")
    assert ("/items/{item_id}/notes/{note_id}", {"item_id": "a", "note_id": "b"}) == _found(
        router, "/items/a/notes/b"
    )
    # A placeholder backtracks to a literal sibling's subtree when the literal leads nowhere.
    assert ("/items/{item_id}/notes/{note_id}", {"item_id": "search", "note_id": "n"}) == (
        _found(router, "/items/search/notes/n")
    )
    # Runs of slashes count as one, as on Litestar.
    assert ("/items", {}) == _found(router, "/items//")
    assert ("/items/{item_id}", {"item_id": "42"}) == _found(router, "//items///42//")
    for unknown in ("/items//notes/b", "/elsewhere", "/items/1/notes", "items"):
        assert _found(router, unknown) is None, unknown


def test_the_method_table_answers_every_method() -> None:
    router = CompiledRouter(ROUTES, prefix="/v1")
    target = router.targets["/v1/items/{item_id}"]
    assert ("GET", "HEAD", "OPTIONS") == target.allow
    assert target.app_for("GET") is target.app_for("HEAD")
    assert target.app_for("PROPFIND") is target.not_allowed
    assert target.app_for("DELETE") is target.not_allowed
    assert target.app_for("OPTIONS") is not target.not_allowed
    assert "PathTarget('/v1/items/{item_id}', allow=('GET', 'HEAD', 'OPTIONS'))" == repr(target)
    assert router.match("/items/1") is None


def test_every_method_declared_still_refuses_unknown_ones() -> None:
    every = HttpRouteSpec(
        method=("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
        path="/all",
        name="all",
        category="t",
        handler=_root,
    )
    target = CompiledRouter([every]).targets["/all"]
    assert target.app_for("PROPFIND") is target.not_allowed
    assert ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT") == target.allow


def test_colliding_routes_are_refused() -> None:
    with pytest.raises(RouteSpecError, match=r"two routes are named 'items\.search'"):
        CompiledRouter([*ROUTES, ROUTES[1]])
    renamed = HttpRouteSpec(
        method="POST", path="/items/{other}", name="items.other", category="t", handler=_other
    )
    with pytest.raises(RouteSpecError, match=r"'/items/\{other\}' are the same path"):
        CompiledRouter([*ROUTES, renamed])


async def test_the_compiled_router_is_an_asgi_app() -> None:
    config = HttpRouterConfig(interceptors=(CorrelationIdInterceptor(),))
    async with client_for(CompiledRouter(ROUTES, config)) as client:
        item = await client.get("/items/7")
        head = await client.head("/items/7")
        options = await client.options("/items/7")
        odd = await client.request("PROPFIND", "/items/7")
        invalid = await client.get("/items/seven")
        missing = await client.get("/nowhere", headers={"X-Request-ID": "r-1"})
        missing_head = await client.head("/nowhere")
    assert (200, {"id": 7}) == (item.status_code, item.json())
    assert (200, b"") == (head.status_code, head.content)
    assert (204, "GET, HEAD, OPTIONS") == (options.status_code, options.headers["allow"])
    assert (405, "GET, HEAD, OPTIONS") == (odd.status_code, odd.headers["allow"])
    assert (422, "validation_failed") == (invalid.status_code, invalid.json()["code"])
    assert (404, "not_found", "r-1") == (
        missing.status_code,
        missing.json()["code"],
        missing.headers["x-request-id"],
    )
    assert (404, b"") == (missing_head.status_code, missing_head.content)


def _app_beside_native_routes(framework: str) -> Any:
    """A plain app: mic's router under /api, the framework's own routes beside it."""
    if framework == "fastapi":
        app: Any = FastAPI()
        app.add_middleware(StampMiddleware)

        @app.get("/native")
        async def native() -> dict[str, str]:
            return {"native": "fastapi"}

        @app.get("/api/native/{name}")
        async def native_under_prefix(name: str) -> dict[str, str]:
            return {"native": name}

        outer = APIRouter()
        outer.include_router(build_fastapi_router(routes=ROUTES), prefix="/inner")
        app.include_router(build_fastapi_router(routes=ROUTES), prefix="/api")
        app.include_router(outer, prefix="/outer")
        install_problem_handlers(app)
        return app

    @get("/native")
    async def native() -> dict[str, str]:
        return {"native": "litestar"}

    @get("/api/native/{name:str}")
    async def native_under_prefix(name: Annotated[str, PathParameter()]) -> dict[str, str]:
        return {"native": name}

    inner = Router("/inner", route_handlers=[build_litestar_router(routes=ROUTES)])
    return Litestar(
        route_handlers=[
            native,
            native_under_prefix,
            Router("/api", route_handlers=[build_litestar_router(routes=ROUTES)]),
            Router("/outer", route_handlers=[inner]),
        ],
        middleware=[StampMiddleware],
        exception_handlers=problem_exception_handlers(),
    )


async def test_mounted_beside_native_routes_with_middleware(framework: str) -> None:
    async with client_for(_app_beside_native_routes(framework)) as client:
        item = await client.get("/api/items/5")
        nested = await client.get("/outer/inner/items/a/notes/b/")
        search = await client.get("/api/items/search")
        native = await client.get("/native")
        beside = await client.get("/api/native/x")
        odd = await client.request("PROPFIND", "/api/items/5")
        created = await client.post("/api/items")
        unprefixed = await client.get("/items/5")
    assert (200, {"id": 5}, "yes") == (item.status_code, item.json(), item.headers["x-stamp"])
    assert {"item": "a", "note": "b"} == nested.json()
    assert {"found": "search"} == search.json()
    assert {"native": framework} == native.json()
    assert {"native": "x"} == beside.json()
    # (Litestar refuses an unknown method while routing, before its route middleware.)
    assert (405, "GET, HEAD, OPTIONS") == (odd.status_code, odd.headers["allow"])
    assert 201 == created.status_code
    assert 404 == unprefixed.status_code


async def test_both_mounts_answer_the_same_bytes() -> None:
    transcripts = []
    for framework in ("fastapi", "litestar"):
        async with client_for(_app_beside_native_routes(framework)) as client:
            transcripts.append(
                [
                    wire(await client.get("/api/items/5")),
                    wire(await client.get("/api/items/5/")),
                    wire(await client.head("/api/items/5")),
                    wire(await client.options("/api/items/5")),
                    wire(await client.delete("/api/items/5")),
                    wire(await client.get("/api/items/five")),
                    wire(await client.get("/api")),
                ]
            )
    assert transcripts[0] == transcripts[1]


async def test_a_litestar_hook_on_a_mic_route_still_runs() -> None:
    """A per-handler Litestar hook keeps Litestar's own handling of the path."""
    calls: list[str] = []

    async def before(request: Any) -> None:
        calls.append(request.url.path)

    app = Litestar(route_handlers=[build_litestar_router(routes=ROUTES)], before_request=before)
    async with client_for(app) as client:
        answer = await client.get("/items/3")
    assert ({"id": 3}, ["/items/3"]) == (answer.json(), calls)


async def test_a_fastapi_router_used_as_an_app_serves_mic_paths() -> None:
    router = build_fastapi_router(routes=ROUTES)
    async with client_for(router) as client:
        answer = await client.get("/items/3")
        missing = await client.get("/nowhere")
    assert ({"id": 3}, 404) == (answer.json(), missing.status_code)


async def test_the_same_verbs_make_unrouted_answers_problems(framework: str) -> None:
    """`problem_exception_handlers` at construction, `install_problem_handlers` after."""
    router: Any
    if framework == "fastapi":
        built = FastAPI(exception_handlers=fastapi_problem_handlers())
        built.include_router(build_fastapi_router(routes=ROUTES))
        installed = FastAPI()
        installed.include_router(build_fastapi_router(routes=ROUTES))
        install_problem_handlers(installed)
        apps: list[Any] = [built, installed]
    else:
        router = build_litestar_router(routes=ROUTES)
        built = Litestar(route_handlers=[router], exception_handlers=problem_exception_handlers())
        installed = Litestar(route_handlers=[build_litestar_router(routes=ROUTES)])
        install_litestar_problem_handlers(installed)
        apps = [built, installed]
    for app in apps:
        async with client_for(app) as client:
            missing = await client.get("/nowhere")
        assert (404, "not_found", "application/problem+json") == (
            missing.status_code,
            missing.json()["code"],
            missing.headers["content-type"],
        )


def test_a_placeholder_is_tried_when_the_literal_branch_leads_nowhere() -> None:
    routes = [
        HttpRouteSpec(method="GET", path="/a/b/{y}/d", name="deep", category="t", handler=_y),
        HttpRouteSpec(method="GET", path="/a/{x}/c", name="shallow", category="t", handler=_x),
    ]
    router = CompiledRouter(routes)
    assert ("/a/{x}/c", {"x": "b"}) == _found(router, "/a/b/c")
    assert ("/a/b/{y}/d", {"y": "c"}) == _found(router, "/a/b/c/d")
    assert _found(router, "/a/b/c/e") is None


def test_the_fastapi_mount_leaves_websockets_to_fastapi() -> None:
    router = build_fastapi_router(routes=ROUTES)
    scope = {"type": "websocket", "path": "/items/1", "root_path": "", "headers": []}
    assert Match.NONE == router.matches(scope)[0]

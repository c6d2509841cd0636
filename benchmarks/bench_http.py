"""Requests/s of native FastAPI and Litestar routes against the same routes served by mic.

The ASGI apps are driven in process (no network, no HTTP client) so the figures measure the
frameworks and adapters only. Run: ``python -m benchmarks.bench_http``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from litestar import Litestar, get, post
from pydantic_core import to_json

from benchmarks._callgrind import Comparison, Goal
from mic.contracts import StrictSchema, wrap_http_success
from mic.fastapi import build_fastapi_app, build_fastapi_router
from mic.fastapi import serve_openapi as serve_fastapi_openapi
from mic.http import ApiDocs, HttpResponseSpec, HttpRouteSpec, build_openapi, compile_routes
from mic.litestar import build_litestar_app, build_litestar_router
from mic.litestar import serve_openapi as serve_litestar_openapi


class CreateItemPayload(StrictSchema):
    name: str
    quantity: int = 0


BODY = json.dumps({"name": "bolt", "quantity": 3}).encode()


def native_fastapi() -> FastAPI:
    app = FastAPI()

    @app.post("/items", status_code=201)
    async def create_item(payload: CreateItemPayload) -> dict[str, Any]:
        return {"name": payload.name, "qty": payload.quantity}

    @app.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "name": "widget"}

    return app


def native_litestar() -> Litestar:
    @post("/items", status_code=201)
    async def create_item(data: CreateItemPayload) -> dict[str, Any]:
        return {"name": data.name, "qty": data.quantity}

    @get("/items/{item_id:int}")
    async def get_item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "name": "widget"}

    return Litestar(route_handlers=[create_item, get_item], logging_config=None)


async def _create(*, payload: CreateItemPayload) -> dict[str, Any]:
    return {"name": payload.name, "qty": payload.quantity}


async def _get(*, item_id: int) -> dict[str, Any]:
    return {"id": item_id, "name": "widget"}


ROUTES = (
    HttpRouteSpec(
        method="POST",
        path="/items",
        name="items.create",
        category="items",
        handler=_create,
        status_code=201,
    ),
    HttpRouteSpec(
        method="GET", path="/items/{item_id}", name="items.get", category="items", handler=_get
    ),
)


def mic_fastapi() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(build_fastapi_router(routes=ROUTES))
    serve_fastapi_openapi(app, ApiDocs(build_openapi(ROUTES), docs_url=None))
    return app


def mic_litestar() -> Litestar:
    app = Litestar(
        route_handlers=[build_litestar_router(routes=ROUTES)],
        logging_config=None,
        openapi_config=None,
    )
    serve_litestar_openapi(app, ApiDocs(build_openapi(ROUTES), docs_url=None))
    return app


# Where each app serves its OpenAPI document (Litestar's own generator uses /schema).
OPENAPI_PATHS = {"native Litestar": "/schema/openapi.json"}


def _scope(method: str, path: str, body: bool) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"user-agent", b"bench/1")]
    if body:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
        ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("bench", 80),
        "state": {},
    }


async def _requests_per_second(
    app: Any, method: str, path: str, body: bool, seconds: float
) -> float:
    request = {"type": "http.request", "body": BODY if body else b"", "more_body": False}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = _scope(method, path, body)
    for _ in range(200):  # warm-up
        # A fresh scope per request, its `state` included, as a server gives it.
        await app({**scope, "state": {}}, receive, send)
    expected = statuses[-1]
    assert expected in (200, 201), f"unexpected status {expected}"
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            await app({**scope, "state": {}}, receive, send)
        count += 100
    assert statuses[-1] == expected
    return count / (time.perf_counter() - started)


async def _measure(seconds: float, rounds: int) -> dict[tuple[str, str], float]:
    apps: dict[str, Callable[[], Any]] = {
        "native FastAPI": native_fastapi,
        "mic on FastAPI": mic_fastapi,
        "native Litestar": native_litestar,
        "mic on Litestar": mic_litestar,
    }
    cases = {
        "POST JSON body": ("POST", "/items", True),
        "GET typed path": ("GET", "/items/42", False),
        "GET openapi.json": ("GET", "/openapi.json", False),
    }
    built = {name: factory() for name, factory in apps.items()}
    best: dict[tuple[str, str], float] = {}
    for _ in range(rounds):  # interleaved rounds, best of each, to even out machine noise
        for case, (method, path, body) in cases.items():
            for name, app in built.items():
                where = OPENAPI_PATHS.get(name, path) if path == "/openapi.json" else path
                rate = await _requests_per_second(app, method, where, body, seconds)
                best[(case, name)] = max(best.get((case, name), 0.0), rate)
    return best


def main(seconds: float = 1.0, rounds: int = 3) -> None:
    """Print requests/s of each app and the ratios against the goals."""
    best = asyncio.run(_measure(seconds, rounds))
    for case in ("POST JSON body", "GET typed path", "GET openapi.json"):
        for name in ("native FastAPI", "mic on FastAPI", "native Litestar", "mic on Litestar"):
            print(f"{case:15} {name:16} {best[(case, name)]:>10,.0f} req/s")
        fastapi = best[(case, "mic on FastAPI")] / best[(case, "native FastAPI")]
        litestar = best[(case, "mic on Litestar")] / best[(case, "native Litestar")]
        print(f"{case}: mic/native FastAPI ratio {fastapi:.2f}x (goal >= 1.30x)")
        print(f"{case}: mic/native Litestar ratio {litestar:.2f}x (goal >= 0.95x)")


if __name__ == "__main__":
    main()


# --- The deterministic mode (`python -m benchmarks --callgrind bench_http`) ----------------
# The README quick-start handler, as users write it (async here: a sync handler adds a
# worker-thread hop whose cost depends on the OS scheduler, not on mic or the framework).


async def _quickstart_create(*, payload: CreateItemPayload) -> HttpResponseSpec:
    return HttpResponseSpec(
        status_code=201, body=wrap_http_success({"name": payload.name, "qty": payload.quantity})
    )


async def _quickstart_get(*, item_id: int) -> HttpResponseSpec:
    return HttpResponseSpec(status_code=200, body=wrap_http_success({"id": item_id, "name": "w"}))


QUICKSTART_ROUTES = (
    HttpRouteSpec(
        method="POST",
        path="/items",
        name="items.create",
        category="items",
        handler=_quickstart_create,
    ),
    HttpRouteSpec(
        method="GET",
        path="/items/{item_id}",
        name="items.get",
        category="items",
        handler=_quickstart_get,
    ),
)


def ceiling_app() -> Any:
    """The ceiling: a raw ASGI app doing only the essential work (validate, serialize)."""
    headers = [(b"content-type", b"application/json")]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["method"] == "POST":
            payload = CreateItemPayload.model_validate_json((await receive())["body"])
            status, data = 201, {"name": payload.name, "qty": payload.quantity}
        else:
            status, data = 200, {"id": int(scope["path"].rsplit("/", 1)[1]), "name": "w"}
        body = to_json({"success": True, "data": data, "meta": None})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def pipeline_app() -> Any:
    """mic's pipeline alone: the compiled routes called directly, no framework routing."""
    create, get_one = compile_routes(QUICKSTART_ROUTES)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["method"] == "POST":
            await create(scope, receive, send)
        else:
            # What a router does: the path parameters go into the scope (Starlette and
            # mic's own router set them in place).
            scope["path_params"] = {"item_id": scope["path"].rsplit("/", 1)[1]}
            await get_one(scope, receive, send)

    return app


def quickstart_native_fastapi() -> FastAPI:
    app = FastAPI()

    @app.post("/items", status_code=201)
    async def create_item(payload: CreateItemPayload) -> dict[str, Any]:
        return {
            "success": True,
            "data": {"name": payload.name, "qty": payload.quantity},
            "meta": None,
        }

    @app.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, Any]:
        return {"success": True, "data": {"id": item_id, "name": "w"}, "meta": None}

    return app


def quickstart_native_litestar() -> Litestar:
    @post("/items", status_code=201)
    async def create_item(data: CreateItemPayload) -> dict[str, Any]:
        return {"success": True, "data": {"name": data.name, "qty": data.quantity}, "meta": None}

    @get("/items/{item_id:int}")
    async def get_item(item_id: int) -> dict[str, Any]:
        return {"success": True, "data": {"id": item_id, "name": "w"}, "meta": None}

    return Litestar(route_handlers=[create_item, get_item], logging_config=None)


def quickstart_apps() -> dict[str, Any]:
    """Every app of the issue-15 table, serving the quick-start routes."""
    on_fastapi = FastAPI()
    on_fastapi.include_router(build_fastapi_router(routes=QUICKSTART_ROUTES))
    return {
        "ceiling": ceiling_app(),
        "mic pipeline": pipeline_app(),
        "mic on Litestar()": Litestar(
            route_handlers=[build_litestar_router(routes=QUICKSTART_ROUTES)], logging_config=None
        ),
        "mic build_litestar_app": build_litestar_app(routes=QUICKSTART_ROUTES),
        "native Litestar": quickstart_native_litestar(),
        "mic on FastAPI()": on_fastapi,
        "mic build_fastapi_app": build_fastapi_app(routes=QUICKSTART_ROUTES),
        "native FastAPI": quickstart_native_fastapi(),
    }


async def _answer(app: Any, method: str, path: str) -> Any:
    """The JSON body `app` answers (every app of the table must answer the same)."""
    body = BODY if method == "POST" else b""
    message = {"type": "http.request", "body": body, "more_body": False}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(sent: dict[str, Any]) -> None:
        if sent["type"] == "http.response.body":
            chunks.append(sent.get("body", b""))

    await app(_scope(method, path, method == "POST"), receive, send)
    return json.loads(b"".join(chunks))


def _request(app: Any, method: str, path: str, expected: int) -> Callable[[], Any]:
    """One in-process request to `app`, checking the status it answers."""
    body = BODY if method == "POST" else b""
    message = {"type": "http.request", "body": body, "more_body": False}
    scope = _scope(method, path, method == "POST")
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(sent: dict[str, Any]) -> None:
        if sent["type"] == "http.response.start":
            statuses.append(sent["status"])

    async def request() -> None:
        # A fresh scope per request, its `state` included, as a server gives it.
        await app({**scope, "state": {}}, receive, send)
        if statuses.pop() != expected:
            raise AssertionError(f"{method} {path} did not answer {expected}")

    return request


async def callgrind_cases() -> list[Comparison]:
    """The issue-15 table and its goals, for both routes."""
    apps = quickstart_apps()
    routes = {"POST": ("/items", 201), "GET": ("/items/42", 200)}
    lines = []
    for method, (path, status) in routes.items():
        bodies = {name: await _answer(app, method, path) for name, app in apps.items()}
        assert len({json.dumps(b, sort_keys=True) for b in bodies.values()}) == 1, bodies
        requests = {name: _request(app, method, path, status) for name, app in apps.items()}

        pairs = [
            ("mic pipeline", "ceiling", Goal(0.4, "mic's own work <= 2.5x the ceiling")),
            ("mic on Litestar()", "native Litestar", Goal(2.0)),
            ("mic build_litestar_app", "native Litestar", Goal(2.0)),
            ("mic on FastAPI()", "native FastAPI", Goal(3.0)),
            ("mic build_fastapi_app", "native FastAPI", Goal(3.0)),
            ("native Litestar", "ceiling", None),
            ("native FastAPI", "ceiling", None),
        ]
        lines += [
            Comparison(
                f"{method} {ours} vs {reference}",
                requests[ours],
                requests[reference],
                goal,
                ours_label=ours,
                reference_label=reference,
            )
            for ours, reference, goal in pairs
        ]
    # The published document: precomputed bytes on mic's side, the frameworks' own
    # generator (cached after the first request) on theirs.
    documents = {
        "mic on FastAPI": (mic_fastapi(), "/openapi.json"),
        "native FastAPI": (native_fastapi(), "/openapi.json"),
        "mic on Litestar": (mic_litestar(), "/openapi.json"),
        "native Litestar": (native_litestar(), OPENAPI_PATHS["native Litestar"]),
    }
    fetch = {name: _request(app, "GET", path, 200) for name, (app, path) in documents.items()}
    for framework, goal in (("FastAPI", 1.3), ("Litestar", 0.95)):
        ours, reference = f"mic on {framework}", f"native {framework}"
        lines.append(
            Comparison(
                f"GET /openapi.json {ours} vs {reference}",
                fetch[ours],
                fetch[reference],
                Goal(goal),
                ours_label=ours,
                reference_label=reference,
            )
        )
    return lines

"""The FastAPI fast lane (ADR 0071): when it is on, where it sits, and that nothing changes.

Every behaviour test runs the same requests on an app whose lane may go in and on the same
app built with the lane kept out, and compares what went over the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, WebSocket
from fastapi.routing import APIRoute
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Host, Match, Mount
from starlette.staticfiles import StaticFiles
from websockets.asyncio.client import connect

import mic.fastapi._lane as lane_layer
import mic.fastapi._router as fastapi_router
from mic.fastapi import (
    build_fastapi_app,
    build_fastapi_realtime_router,
    build_fastapi_router,
    install_problem_handlers,
    problem_exception_handlers,
)
from mic.fastapi._lane import Lane, lane_of
from mic.http import HttpRouterConfig, HttpRouteSpec, RouteSpecError
from mic.realtime import RealtimeClient, RealtimeHub, WebSocketRouteSpec
from tests.realtime.support import Ping, Pong, echo, serve
from tests.support import StampMiddleware, client_for, wire


async def _item(*, item_id: int) -> dict[str, Any]:
    return {"id": item_id}


async def _create() -> dict[str, str]:
    return {"created": "yes"}


async def _named(*, name: str) -> dict[str, str]:
    return {"name": name}


ROUTES = (
    HttpRouteSpec(
        method="GET", path="/items/{item_id}", name="items.get", category="t", handler=_item
    ),
    HttpRouteSpec(method="POST", path="/items", name="items.create", category="t", handler=_create),
)
OTHER_ROUTES = (
    HttpRouteSpec(
        method="GET", path="/names/{name}", name="names.get", category="t", handler=_named
    ),
)

# The requests every comparison sends: mic paths, variants, unknown paths.
REQUESTS = (
    ("GET", "/items/5"),
    ("GET", "/items/5/"),
    ("HEAD", "/items/5"),
    ("OPTIONS", "/items/5"),
    ("DELETE", "/items/5"),
    ("PROPFIND", "/items/5"),
    ("GET", "/items/five"),
    ("POST", "/items"),
    ("POST", "/items/"),
    ("GET", "/items"),
    ("GET", "/nowhere"),
    ("GET", "/items/5%0A"),
    ("GET", "/items%0A"),
)


@contextlib.contextmanager
def lane_kept_out() -> Iterator[None]:
    """Apps built and served inside keep ADR 0070's mount alone."""
    original = fastapi_router.ensure_lane
    fastapi_router.ensure_lane = lambda app, is_mounted: None  # type: ignore[assignment]
    try:
        yield
    finally:
        fastapi_router.ensure_lane = original


@contextlib.asynccontextmanager
async def running(app: Any) -> AsyncIterator[None]:
    """Run `app`'s ASGI lifespan around the block (startup failures are raised)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    inbox.put_nowait({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    if (await outbox.get())["type"] != "lifespan.startup.complete":
        await task
    try:
        yield
    finally:
        inbox.put_nowait({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def _transcript(
    app: Any, requests: tuple[tuple[str, str], ...], root_path: str = ""
) -> list[Any]:
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # The first mic request is served by the slow path and puts the lane in.
        await client.get("/items/1")
        return [
            (method, path, wire(await client.request(method, path))) for method, path in requests
        ]


async def _same_with_and_without_lane(
    build: Callable[[], FastAPI],
    requests: tuple[tuple[str, str], ...] = REQUESTS,
    root_path: str = "",
) -> tuple[FastAPI, list[Any]]:
    """The lane app (after its first mic request) and its transcript, equal to the other's."""
    with lane_kept_out():
        expected = await _transcript(build(), requests, root_path)
    app = build()
    actual = await _transcript(app, requests, root_path)
    assert expected == actual
    return app, actual


def _answers(transcript: list[Any]) -> dict[tuple[str, str], tuple[int, bytes]]:
    return {(method, path): (sent[0], sent[2]) for method, path, sent in transcript}


def _plain() -> FastAPI:
    app = FastAPI()
    app.include_router(build_fastapi_router(routes=ROUTES))
    install_problem_handlers(app)
    return app


def _with_handlers_at_construction() -> FastAPI:
    app = FastAPI(exception_handlers=problem_exception_handlers())
    app.include_router(build_fastapi_router(routes=ROUTES))
    return app


@pytest.mark.parametrize(
    "build",
    [_plain, _with_handlers_at_construction, lambda: build_fastapi_app(routes=ROUTES)],
    ids=["FastAPI()+include_router", "problem_exception_handlers", "build_fastapi_app"],
)
async def test_the_lane_replaces_the_stack_and_answers_the_same(
    build: Callable[[], FastAPI],
) -> None:
    app, transcript = await _same_with_and_without_lane(build)
    assert isinstance(app.middleware_stack, Lane)
    answers = _answers(transcript)
    assert (200, b'{"id":5}') == answers[("GET", "/items/5")]
    assert (200, b"") == answers[("HEAD", "/items/5")]
    assert 405 == answers[("PROPFIND", "/items/5")][0]
    assert (404, True) == (
        answers[("GET", "/nowhere")][0],
        b'"code":"not_found"' in answers[("GET", "/nowhere")][1],
    )


async def test_the_lifespan_puts_the_lane_in_before_any_request() -> None:
    app = _plain()
    async with running(app):
        assert lane_of(app) is not None
        async with client_for(app) as client:
            assert {"id": 3} == (await client.get("/items/3")).json()


async def test_no_lane_without_a_built_stack_or_for_other_apps() -> None:
    app = _plain()
    fastapi_router.ensure_lane(app, fastapi_router._is_mounted)
    fastapi_router.ensure_lane(object(), fastapi_router._is_mounted)
    assert app.middleware_stack is None


def _with_route_before(kind: str) -> Callable[[], FastAPI]:
    def build() -> FastAPI:
        app = FastAPI()
        if kind == "static":

            @app.get("/items")
            async def native_list() -> dict[str, str]:
                return {"native": "list"}

        elif kind == "templated":

            @app.get("/items/{anything}")
            async def native_item(anything: str) -> dict[str, str]:
                return {"native": anything}

        elif kind == "mount":
            app.mount("/items", StaticFiles(directory=Path(__file__).parent), name="static")
        elif kind == "websocket":

            @app.websocket("/items/{item_id}")
            async def socket(websocket: WebSocket) -> None:
                await websocket.accept()
                await websocket.send_text("native socket")
                await websocket.close()

        elif kind == "included router":
            native = APIRouter()

            @native.get("/{anything}")
            async def native_prefixed(anything: str) -> dict[str, str]:
                return {"native": anything}

            app.include_router(native, prefix="/items")
        app.include_router(build_fastapi_router(routes=ROUTES))
        if kind == "after":

            @app.get("/items/{anything}")
            async def native_after(anything: str) -> dict[str, str]:
                return {"native": anything}

        install_problem_handlers(app)
        return app

    return build


@pytest.mark.parametrize(
    ("kind", "get_item", "post_items"),
    [
        ("static", (200, b'{"id":5}'), (200, b'{"created":"yes"}')),
        ("templated", (200, b'{"native":"5"}'), (200, b'{"created":"yes"}')),
        ("mount", (404, b'"code":"not_found"'), (200, b'{"created":"yes"}')),
        ("websocket", (200, b'{"id":5}'), (200, b'{"created":"yes"}')),
        ("included router", (200, b'{"native":"5"}'), (200, b'{"created":"yes"}')),
        ("after", (200, b'{"id":5}'), (200, b'{"created":"yes"}')),
    ],
)
async def test_a_route_registered_before_the_mic_router_still_wins(
    kind: str, get_item: tuple[int, bytes], post_items: tuple[int, bytes]
) -> None:
    app, transcript = await _same_with_and_without_lane(_with_route_before(kind))
    answers = _answers(transcript)
    for (status, body), request in ((get_item, "GET /items/5"), (post_items, "POST /items")):
        answered = answers[tuple(request.split())]  # type: ignore[index]
        assert (status, True) == (answered[0], body in answered[1]), request
    assert lane_of(app) is not None
    if kind == "static":
        assert (200, b'{"native":"list"}') == answers[("GET", "/items")]
        # Starlette's `$` also takes the path with a newline: FastAPI's route answers it.
        assert (200, b'{"native":"list"}') == answers[("GET", "/items%0A")]


async def test_a_websocket_route_on_a_mic_path_still_connects() -> None:
    app = _with_route_before("websocket")()
    async with serve(app, RealtimeHub()) as (url, _):
        async with httpx.AsyncClient(base_url=url.replace("ws://", "http://")) as client:
            assert {"id": 5} == (await client.get("/items/5")).json()
        assert lane_of(app) is not None
        async with connect(f"{url}/items/5") as socket:
            assert "native socket" == await socket.recv()


async def test_a_host_route_before_the_mic_router_keeps_the_lane_off() -> None:
    def build() -> FastAPI:
        app = FastAPI()
        app.router.routes.append(Host("api.example", app=_plain()))
        app.include_router(build_fastapi_router(routes=ROUTES))
        return app

    app, transcript = await _same_with_and_without_lane(build)
    assert lane_of(app) is None
    assert (200, b'{"id":5}') == _answers(transcript)[("GET", "/items/5")]


async def test_a_host_route_after_the_mic_routers_does_not_matter() -> None:
    def build() -> FastAPI:
        app = _plain()
        app.router.routes.append(Host("api.example", app=_plain()))
        return app

    app, _ = await _same_with_and_without_lane(build)
    assert lane_of(app) is not None


def _prefixed_nested_and_several() -> FastAPI:
    app = FastAPI()
    app.include_router(build_fastapi_router(routes=ROUTES), prefix="/v1")
    outer = APIRouter()
    outer.include_router(build_fastapi_router(routes=OTHER_ROUTES), prefix="/inner")
    app.include_router(outer, prefix="/outer")
    app.include_router(build_fastapi_router(routes=ROUTES, prefix="/api"))
    install_problem_handlers(app)
    return app


PREFIXED = (
    ("GET", "/v1/items/5"),
    ("GET", "/v1/items/5/"),
    ("POST", "/v1/items"),
    ("GET", "/v1"),
    ("GET", "/v1items/5"),
    ("GET", "/outer/inner/names/ann"),
    ("HEAD", "/outer/inner/names/ann"),
    ("GET", "/api/items/6"),
    ("GET", "/items/5"),
)


async def test_prefixes_nested_inclusions_and_several_mic_routers() -> None:
    app, transcript = await _same_with_and_without_lane(_prefixed_nested_and_several, PREFIXED)
    answers = _answers(transcript)
    assert isinstance(app.middleware_stack, Lane)
    assert (200, b'{"id":5}') == answers[("GET", "/v1/items/5")]
    assert (200, b'{"name":"ann"}') == answers[("GET", "/outer/inner/names/ann")]
    assert (200, b'{"id":6}') == answers[("GET", "/api/items/6")]
    assert 404 == answers[("GET", "/items/5")][0]


async def test_an_earlier_mic_router_with_an_irregular_path_shadows_later_ones() -> None:
    irregular = HttpRouteSpec(
        method="GET", path="/names/{name}.json", name="names.json", category="t", handler=_named
    )

    def build() -> FastAPI:
        app = FastAPI()
        app.include_router(build_fastapi_router(routes=[irregular]))
        app.include_router(build_fastapi_router(routes=OTHER_ROUTES))
        return app

    requests = (("GET", "/names/ann.json"), ("GET", "/names/ann"))
    app, transcript = await _same_with_and_without_lane(build, requests)
    answers = _answers(transcript)
    assert (200, b'{"name":"ann"}') == answers[("GET", "/names/ann.json")]
    assert lane_of(app) is not None


async def _pair(*, a: str, b: str) -> dict[str, str]:
    return {"a": a, "b": b}


async def test_an_earlier_mic_template_taking_a_trailing_newline_shadows_later_ones() -> None:
    # Starlette's expression for `/items/{item_id}/` (and `/items/{item_id}/detail`) also
    # takes the path plus a newline; the compiled router does not, a later one might.
    first = (
        ROUTES[0],
        HttpRouteSpec(
            method="GET", path="/items/{item_id}/detail", name="d", category="t", handler=_item
        ),
    )
    second = (
        HttpRouteSpec(method="GET", path="/items/{a}/{b}", name="p", category="t", handler=_pair),
    )

    def build() -> FastAPI:
        app = FastAPI()
        app.include_router(build_fastapi_router(routes=first))
        app.include_router(build_fastapi_router(routes=second))
        return app

    requests = (
        ("GET", "/items/5/%0A"),
        ("GET", "/items/5/detail%0A"),
        ("GET", "/items/5/x"),
        ("GET", "/items/5/x%0A"),
    )
    app, transcript = await _same_with_and_without_lane(build, requests)
    answers = _answers(transcript)
    assert (200, b'{"id":5}') == answers[("GET", "/items/5/%0A")]
    assert (200, b'{"id":5}') == answers[("GET", "/items/5/detail%0A")]
    assert (200, b'{"a":"5","b":"x"}') == answers[("GET", "/items/5/x")]
    assert lane_of(app) is not None


@pytest.mark.parametrize("root_path", ["/svc", ""])
async def test_root_path_and_a_mounted_sub_app(root_path: str) -> None:
    def build() -> FastAPI:
        app = _plain()
        parent = FastAPI()
        parent.mount("/sub", app)
        return parent

    requests = (
        ("GET", f"{root_path}/sub/items/5"),
        ("GET", f"{root_path}/sub/items/5/"),
        ("GET", f"{root_path}/items/5"),
        ("GET", f"{root_path}/sub"),
    )
    parent, transcript = await _same_with_and_without_lane(build, requests, root_path)
    answers = _answers(transcript)
    assert (200, b'{"id":5}') == answers[("GET", f"{root_path}/sub/items/5")]
    assert 404 == answers[("GET", f"{root_path}/items/5")][0]
    mounted = next(route for route in parent.routes if isinstance(route, Mount))
    assert lane_of(mounted.app) is not None  # type: ignore[arg-type]


async def test_a_root_path_on_the_app_itself() -> None:
    requests = (("GET", "/svc/items/5"), ("GET", "/svc"), ("GET", "/svcitems/5"))
    _, transcript = await _same_with_and_without_lane(_plain, requests, "/svc")
    assert (200, b'{"id":5}') == _answers(transcript)[("GET", "/svc/items/5")]


class _OpaqueMiddleware(StampMiddleware):
    """A middleware keeping the next app under another name: the lane cannot find it."""

    def __init__(self, app: Any) -> None:
        self.inner = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.inner(scope, receive, send)


def _with_middleware(kind: str) -> Callable[[], FastAPI]:
    def build() -> FastAPI:
        app = _plain()
        if kind == "stamp":
            app.add_middleware(StampMiddleware)
        elif kind == "cors":
            app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"])
        elif kind == "base http":

            async def header(request: Any, call_next: Any) -> Any:
                response = await call_next(request)
                response.headers["x-base"] = "yes"
                return response

            app.add_middleware(BaseHTTPMiddleware, dispatch=header)
        elif kind == "opaque":
            app.add_middleware(_OpaqueMiddleware)
            app.add_middleware(StampMiddleware)
        return app

    return build


@pytest.mark.parametrize(
    ("kind", "header", "lane_on"),
    [
        ("stamp", "x-stamp", True),
        ("cors", "access-control-allow-origin", True),
        ("base http", "x-base", True),
        ("opaque", "x-stamp", False),
    ],
)
async def test_user_middleware_still_wraps_mic_routes(
    kind: str, header: str, lane_on: bool
) -> None:
    requests = (*REQUESTS, ("GET", "/items/7"))
    with lane_kept_out():
        expected = await _cors_transcript(_with_middleware(kind)(), requests)
    app = _with_middleware(kind)()
    actual = await _cors_transcript(app, requests)
    assert expected == actual
    assert header in dict(actual[-1][2][1])
    lane = lane_of(app)
    assert lane_on == (lane is not None)
    assert not isinstance(app.middleware_stack, Lane)


async def _cors_transcript(app: Any, requests: tuple[tuple[str, str], ...]) -> list[Any]:
    origin = {"origin": "https://a.example"}
    async with client_for(app) as client:
        await client.get("/items/1", headers=origin)
        return [
            (method, path, wire(await client.request(method, path, headers=origin)))
            for method, path in requests
        ]


async def test_fastapi_max_body_size_still_applies() -> None:
    def build() -> FastAPI:
        app = FastAPI(max_body_size=8)
        app.include_router(build_fastapi_router(routes=ROUTES))
        return app

    transcripts = []
    for keep_out in (True, False):
        with lane_kept_out() if keep_out else contextlib.nullcontext():
            app = build()
            async with client_for(app) as client:
                await client.get("/items/1")
                small = await client.post("/items", content=b"{}")
                large = await client.post("/items", content=b'{"name": "far too long"}')
        transcripts.append([wire(small), wire(large)])
    assert transcripts[0] == transcripts[1]
    assert (200, 413) == (transcripts[1][0][0], transcripts[1][1][0])
    assert lane_of(app) is not None
    assert not isinstance(app.middleware_stack, Lane)


async def test_native_telemetry_records_the_mic_route_on_both_paths() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI(telemetry={"tracer_provider": provider})
    app.include_router(build_fastapi_router(routes=ROUTES), prefix="/v1")
    async with client_for(app) as client:
        for _ in range(2):  # the slow path, then the lane
            assert 200 == (await client.get("/v1/items/3/")).status_code
    assert lane_of(app) is not None
    spans = exporter.get_finished_spans()
    assert 2 * ["GET /v1/items/{item_id}"] == [span.name for span in spans]
    assert {"/v1/items/{item_id}"} == {(span.attributes or {})["http.route"] for span in spans}


async def _guard() -> None:
    """A FastAPI dependency: never runs on a mic route, so the inclusion is refused."""


async def test_a_refused_inclusion_is_never_served_by_the_lane(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()
    app.include_router(build_fastapi_router(routes=OTHER_ROUTES))
    app.include_router(build_fastapi_router(routes=ROUTES), dependencies=[Depends(_guard)])
    caplog.set_level(logging.ERROR, logger="mic.fastapi")
    async with client_for(app) as client:
        assert 200 == (await client.get("/names/ann")).status_code
        answers = [(await client.get("/items/5")).status_code for _ in range(2)]
    assert lane_of(app) is not None
    assert [500, 500] == answers
    assert 2 == caplog.text.count("FastAPI dependency on the including router")
    with pytest.raises(RouteSpecError, match="FastAPI dependency on the including router"):
        async with running(app):
            pass  # pragma: no cover - the startup fails


async def test_a_route_added_before_the_mic_router_later_is_seen() -> None:
    app = FastAPI()
    native = APIRouter()
    app.include_router(native, prefix="/items")
    app.include_router(build_fastapi_router(routes=ROUTES))
    async with client_for(app) as client:
        assert {"id": 5} == (await client.get("/items/5")).json()
        assert lane_of(app) is not None

        @native.get("/{anything}")
        async def native_item(anything: str) -> dict[str, str]:
            return {"native": anything}

        assert {"native": "5"} == (await client.get("/items/5")).json()
        assert {"created": "yes"} == (await client.post("/items")).json()


async def test_a_route_added_to_a_mic_router_included_twice_is_seen() -> None:
    # The same mic router at "" and at "/v2": a route added to it later comes, under the
    # first inclusion, before the second inclusion's mic paths.
    async def served(app: FastAPI, mic: APIRouter) -> list[Any]:
        async with client_for(app) as client:
            before = (await client.get("/v2/items/5")).json()

            @mic.get("/v2/items/{anything}")
            async def native_item(anything: str) -> dict[str, str]:
                return {"native": anything}

            after = (await client.get("/v2/items/5")).json()
            return [before, after, (await client.get("/items/5")).json(), lane_of(app)]

    def build() -> tuple[FastAPI, APIRouter]:
        app = FastAPI()
        mic = build_fastapi_router(routes=ROUTES)
        app.include_router(mic)
        app.include_router(mic, prefix="/v2")
        return app, mic

    with lane_kept_out():
        expected = await served(*build())
    actual = await served(*build())
    assert [{"id": 5}, {"native": "5"}, {"id": 5}, None] == expected
    assert expected[:3] == actual[:3]
    assert actual[3] is not None


async def test_websocket_and_lifespan_scopes_pass_through_the_lane() -> None:
    route = WebSocketRouteSpec(
        path="/ws/echo", name="echo", receives=Ping, sends=Pong, on_message=echo
    )
    hub = RealtimeHub()
    config = HttpRouterConfig(services={RealtimeHub: hub})
    app = FastAPI()
    app.include_router(build_fastapi_realtime_router(routes=[route], config=config))
    app.include_router(build_fastapi_router(routes=ROUTES))
    async with serve(app, hub) as (url, _):
        http = url.replace("ws://", "http://")
        async with httpx.AsyncClient(base_url=http) as client:
            assert {"id": 2} == (await client.get("/items/2")).json()
            assert lane_of(app) is not None
            assert 426 == (await client.get("/ws/echo")).status_code
        async with await RealtimeClient(url).connect(route) as session:
            await session.send(Ping(text="hi"))
            assert "hi" == (await session.receive()).data.text  # type: ignore[union-attr]


async def test_lifespan_scope_goes_to_the_app() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        events.append("start")
        yield
        events.append("stop")

    app = FastAPI(lifespan=lifespan)
    app.include_router(build_fastapi_router(routes=ROUTES))
    async with running(app), client_for(app) as client:
        assert isinstance(app.middleware_stack, Lane)
        assert {"id": 1} == (await client.get("/items/1")).json()
    assert ["start", "stop"] == events


async def test_the_plan_is_dropped_when_the_app_is_gone() -> None:
    app = _plain()
    async with client_for(app) as client:
        await client.get("/items/1")
    lane = lane_of(app)
    assert lane is not None
    lane._fastapi_app = lambda: None  # type: ignore[assignment]
    lane._plan.versions = ((app.router, -1),)  # type: ignore[union-attr]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/items/1", "root_path": "", "headers": []}
    await asyncio.wait_for(lane(dict(scope, app=app), receive, send), 5)
    assert lane._plan is None
    assert 200 == sent[0]["status"]


class _CustomMatchRoute(APIRoute):
    """A route class with its own matching, which the lane cannot reproduce."""

    def matches(self, scope: Any) -> tuple[Match, Any]:
        return super().matches(scope)


class _CustomMatchRouter(APIRouter):
    """A router class with its own matching, which the lane cannot reproduce."""

    def matches(self, scope: Any) -> tuple[Match, Any]:
        return super().matches(scope)


def _with_custom_matching(kind: str, before: bool) -> FastAPI:
    app = FastAPI()
    router: APIRouter = _CustomMatchRouter() if kind == "router" else APIRouter()

    async def native() -> dict[str, str]:
        return {"native": "yes"}

    route_class = _CustomMatchRoute if kind == "route" else APIRoute
    router.add_api_route("/native", native, route_class_override=route_class)
    if before:
        app.include_router(router)
    app.include_router(build_fastapi_router(routes=ROUTES))
    if not before:
        app.include_router(router)
    return app


@pytest.mark.parametrize("kind", ["route", "router"])
@pytest.mark.parametrize("before", [True, False])
async def test_custom_matching_before_the_mic_router_keeps_the_lane_off(
    kind: str, before: bool
) -> None:
    requests = (("GET", "/items/5"), ("GET", "/native"))
    app, transcript = await _same_with_and_without_lane(
        lambda: _with_custom_matching(kind, before), requests
    )
    assert (lane_of(app) is None) == before
    assert (200, b'{"native":"yes"}') == _answers(transcript)[("GET", "/native")]


async def test_a_mic_router_mounted_rather_than_included_gets_no_lane() -> None:
    app = FastAPI()
    app.mount("/m", build_fastapi_router(routes=ROUTES))
    async with client_for(app) as client:
        answers = [(await client.get("/m/items/5")).json() for _ in range(2)]
    assert [{"id": 5}, {"id": 5}] == answers
    assert app.middleware_stack is not None
    assert lane_of(app) is None
    assert lane_layer.plan_routes(app, fastapi_router._is_mounted) is None


@pytest.mark.parametrize("build", [_plain, _with_middleware("stamp")], ids=["top", "inner"])
async def test_the_lane_goes_in_once(build: Callable[[], FastAPI]) -> None:
    app = build()
    async with client_for(app) as client:
        await client.get("/items/1")
        lane = lane_of(app)
        lane_layer._decided.pop(app)  # as if the decision had been forgotten
        fastapi_router.ensure_lane(app, fastapi_router._is_mounted)
        assert {"id": 2} == (await client.get("/items/2")).json()
    assert lane is not None
    assert lane is lane_of(app)
    assert not isinstance(lane.app, Lane)

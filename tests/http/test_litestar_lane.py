"""The router's short path for mic routes on Litestar (ADR 0072): the same answers, less work.

The reference for every behaviour is the same app with Litestar's own `ASGIRouter` put
back: whatever the short path serves must be what Litestar would have served.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from litestar import Litestar, Request, Response, Router, asgi, get, websocket
from litestar._asgi.asgi_router import ASGIRouter
from litestar.config.cors import CORSConfig
from litestar.connection import WebSocket
from litestar.middleware import DefineMiddleware
from litestar.params import PathParameter

from mic.http import HttpRouteSpec
from mic.litestar import (
    _lane,
    build_litestar_app,
    build_litestar_router,
    install_problem_handlers,
    problem_exception_handlers,
)

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class BoomError(Exception):
    """Raised by a mic route's interceptor, for Litestar's exception handlers."""


class LateBoomError(Exception):
    """Raised by a mic route's interceptor; its handler is added after the app served."""


async def get_item(*, item_id: int) -> dict[str, Any]:
    return {"id": item_id}


async def create_item() -> dict[str, str]:
    return {"created": "yes"}


async def fixed() -> dict[str, str]:
    return {"mic": "fixed"}


async def deep(*, a: str) -> dict[str, str]:
    return {"deep": a}


async def boom() -> None:
    return None


ROUTES = (
    HttpRouteSpec(
        method="GET", path="/items/{item_id}", name="items.get", category="t", handler=get_item
    ),
    HttpRouteSpec(
        method="POST", path="/items", name="items.create", category="t", handler=create_item
    ),
    HttpRouteSpec(
        method="GET", path="/things/fixed", name="things.fixed", category="t", handler=fixed
    ),
    HttpRouteSpec(method="GET", path="/deep/{a}/x", name="deep", category="t", handler=deep),
)


@get("/items/special")
async def special() -> dict[str, str]:
    return {"native": "special"}


@get("/things/{name:str}")
async def thing(name: Annotated[str, PathParameter()]) -> dict[str, str]:
    return {"native": name}


@get("/native")
async def native() -> dict[str, str]:
    return {"native": "plain"}


@asgi("/mounted", is_mount=True, copy_scope=True)
async def mounted(scope: Any, receive: Any, send: Any) -> None:
    body = json.dumps({"mounted": scope["path"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


@websocket("/ws")
async def echo(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    text = await socket.receive_text()
    await socket.send_text(f"echo {text}")
    await socket.close()


def _teapot(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Response({"handled": "app"}, status_code=418)


def _inner_teapot(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Response({"handled": "router"}, status_code=418)


def _late_teapot(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Response({"handled": "late"}, status_code=418)


SEEN: list[tuple[Any, ...]] = []


async def record_scope(message: Any, scope: Any) -> None:
    """A `before_send` hook: what the router left in the scope when the answer starts."""
    if message["type"] == "http.response.start":
        handler = scope.get("route_handler")
        SEEN.append(
            (
                scope["path"],
                scope.get("path_template"),
                None if handler is None else handler.name,
                dict(scope.get("path_params", {})),
            )
        )


def beside_native(**options: Any) -> Litestar:
    """mic routes beside Litestar's own handlers, a mount, a prefix and a nested router."""
    return Litestar(
        route_handlers=[
            build_litestar_router(routes=ROUTES),
            build_litestar_router(routes=ROUTES[:1], prefix="/v1"),
            Router("/api", route_handlers=[build_litestar_router(routes=ROUTES[2:4])]),
            special,
            thing,
            native,
            mounted,
            echo,
        ],
        exception_handlers={**problem_exception_handlers(), BoomError: _teapot},
        before_send=[record_scope],
        logging_config=None,
        **options,
    )


def without_lane(app: Litestar) -> Litestar:
    """The same app routed by Litestar's own `ASGIRouter` (the reference)."""
    app.asgi_router.__class__ = ASGIRouter
    return app


def targets(app: Litestar) -> Any:
    """The app router's cached routing: (path, root path, method) -> target."""
    router = app.asgi_router
    assert isinstance(router, _lane.MicASGIRouter)
    return router._targets


def _scope(
    method: str, path: str, root_path: str, headers: list[tuple[bytes, bytes]]
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": root_path,
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }


HOST = [(b"host", b"testserver")]


async def call(
    app: Any,
    method: str,
    path: str,
    *,
    root_path: str = "",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
) -> Answer:
    """One in-process request: status, headers and body of the answer."""
    messages = iter([{"type": "http.request", "body": body, "more_body": False}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope(method, path, root_path, HOST if headers is None else headers), receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], sorted(start.get("headers", [])), content


# (method, path, root path, headers): mic paths, Litestar's own, and what Litestar refuses.
CASES = [
    ("GET", "/items/1", "", HOST),
    ("GET", "/items/1/", "", HOST),
    ("GET", "//items//1", "", HOST),
    ("HEAD", "/items/1", "", HOST),
    ("OPTIONS", "/items/1", "", HOST),
    ("DELETE", "/items/1", "", HOST),
    ("PROPFIND", "/items/1", "", HOST),
    ("GET", "/items/abc", "", HOST),
    ("POST", "/items", "", HOST),
    ("GET", "/items", "", HOST),
    ("GET", "/v1/items/7", "", HOST),
    ("GET", "/api/things/fixed", "", HOST),
    ("GET", "/api/deep/z/x", "", HOST),
    ("GET", "/items/special", "", HOST),
    ("GET", "/things/fixed", "", HOST),
    ("GET", "/things/other", "", HOST),
    ("GET", "/deep/q/x", "", HOST),
    ("GET", "/deep/q/y", "", HOST),
    ("GET", "/native", "", HOST),
    ("GET", "/nowhere", "", HOST),
    ("GET", "/mounted/sub/path", "", HOST),
    ("GET", "/mounted", "", HOST),
    ("GET", "/app/items/2", "/app", HOST),
    ("GET", "/app/native", "/app", HOST),
    ("GET", "/items/3", "/app", HOST),
    ("GET", "/items/4", "", [(b"host", b"bad host")]),
    ("GET", "/nowhere", "", [(b"host", b"bad host")]),
    ("GET", "/items/5", "", []),
    ("GET", "/items/%31", "", HOST),
    ("GET", "/items/\u00e9", "", HOST),
    ("GET", "/application/items/1", "/app", HOST),
    ("GET", "/items/1", "/items", HOST),
    ("get", "/items/1", "", HOST),
    ("CONNECT", "/items/1", "", HOST),
    ("GET", "/items/1", "", [(b"host", "\u00e9.test".encode())]),
    ("GET", "/items/1", "", [(b"host", b"")]),
    ("GET", "/items/6", "", [(b"user-agent", b"t"), (b"host", b"a.test:80"), (b"host", b"x y")]),
]


@pytest.mark.parametrize(("method", "path", "root_path", "headers"), CASES)
async def test_every_request_is_answered_as_litestar_answers_it(
    method: str, path: str, root_path: str, headers: list[tuple[bytes, bytes]]
) -> None:
    """Same status, headers, body and scope keys (handler, template, path, parameters)."""
    transcripts = []
    for app in (beside_native(), without_lane(beside_native())):
        SEEN.clear()
        answer = await call(app, method, path, root_path=root_path, headers=headers)
        transcripts.append((answer, list(SEEN)))
    assert transcripts[0] == transcripts[1]


# (method, path, root path, the handler Litestar routes to).
MIC_TARGETS = [
    ("GET", "/items/1", "", "items.get"),
    ("GET", "//items/1/", "", "items.get"),
    ("HEAD", "/items/1", "", "mic.head./items/{item_id}"),
    ("DELETE", "/items/1", "", "mic.delete.patch.post.put.trace./items/{item_id}"),
    ("POST", "/items", "", "items.create"),
    ("GET", "/things/fixed", "", "things.fixed"),
    ("GET", "/api/deep/z/x", "", "deep"),
    ("GET", "/app/items/2", "/app", "items.get"),
]


@pytest.mark.parametrize(("method", "path", "root_path", "name"), MIC_TARGETS)
def test_a_mic_route_without_middleware_is_answered_by_its_mic_app(
    method: str, path: str, root_path: str, name: str
) -> None:
    """No route middleware: the target is mic's app itself, not the route's `handle`."""
    answer, handler, *_ = targets(beside_native())(path, root_path, method)
    assert (name, handler.fn.mic_app) == (handler.name, answer)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/items/special"), ("GET", "/things/other"), ("GET", "/mounted/x")]
)
async def test_litestar_s_own_handlers_are_left_to_litestar(method: str, path: str) -> None:
    app = beside_native()
    answers = [(await call(app, method, path))[0] for _ in "ab"]
    assert ([200, 200], None) == (answers, targets(app)(path, "", method))


async def test_the_router_called_alone_sets_litestar_s_scope_state() -> None:
    """Without the app's exception middleware before it, the router creates the state."""
    app = beside_native()
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = _scope("GET", "/items/4", "", HOST)
    scope.update(app=app, litestar_app=app)
    del scope["state"]
    await app.asgi_router(scope, receive, send)
    handlers = scope["state"]["_ls_connection_state"].exception_handlers
    assert (200, _teapot) == (sent[0]["status"], handlers[BoomError])


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/nowhere", 404), ("PROPFIND", "/items/1", 405)]
)
async def test_a_routing_failure_is_answered_by_litestar_and_not_cached(
    method: str, path: str, status: int
) -> None:
    app = beside_native()
    answer, headers, body = await call(app, method, path)
    assert (status, b"application/problem+json", status) == (
        answer,
        dict(headers)[b"content-type"],
        json.loads(body)["status"],
    )
    assert 0 == targets(app).cache_info().currsize


async def test_repeated_requests_reuse_the_cached_target() -> None:
    app = beside_native()
    for _ in range(3):
        assert 200 == (await call(app, "GET", "/items/9"))[0]
    info = targets(app).cache_info()
    assert (2, 1, 1) == (info.hits, info.misses, info.currsize)


@pytest.fixture
def known_hosts(monkeypatch: pytest.MonkeyPatch) -> set[bytes]:
    """An empty set of remembered hosts, bounded at 2."""
    remembered: set[bytes] = set()
    monkeypatch.setattr(_lane, "_known_hosts", remembered)
    monkeypatch.setattr(_lane, "KNOWN_HOSTS_LIMIT", 2)
    return remembered


async def test_valid_hosts_are_remembered_up_to_the_bound(known_hosts: set[bytes]) -> None:
    app = beside_native()
    hosts = [b"a.test", b"b.test", b"c.test", b"a.test"]
    statuses = [(await call(app, "GET", "/items/1", headers=[(b"host", h)]))[0] for h in hosts]
    assert ([200, 200, 200, 200], {b"a.test", b"b.test"}) == (statuses, known_hosts)


async def test_an_invalid_host_is_refused_and_never_remembered(known_hosts: set[bytes]) -> None:
    app = beside_native()
    answers = [(await call(app, "GET", "/items/1", headers=[(b"host", b"a b")]))[0] for _ in "ab"]
    assert ([400, 400], set()) == (answers, known_hosts)


class Raise:
    """Route middleware raising `error` for the paths ending with ``/boom``, else passing on."""

    def __init__(self, app: Any, error: type[Exception]) -> None:
        self.app, self.error = app, error

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["path"].endswith("/boom"):
            raise self.error("raised on purpose")
        await self.app(scope, receive, send)


BOOM_ROUTES = (
    HttpRouteSpec(method="GET", path="/boom", name="boom", category="t", handler=boom),
    HttpRouteSpec(method="GET", path="/fine", name="fine", category="t", handler=boom),
)


def raising(error: type[Exception] = BoomError) -> Litestar:
    """A mic router whose including router's middleware raises `error`; handlers on both layers."""
    router = Router(
        "/r",
        route_handlers=[build_litestar_router(routes=BOOM_ROUTES)],
        exception_handlers={BoomError: _inner_teapot},
        middleware=[DefineMiddleware(Raise, error=error)],
    )
    return Litestar(
        route_handlers=[router], exception_handlers={BoomError: _teapot}, logging_config=None
    )


@pytest.mark.parametrize("lane", [True, False])
async def test_exception_handlers_of_the_closest_layer_apply(lane: bool) -> None:
    """Something raises on a mic route: the including router's handler beats the app's."""
    app = raising() if lane else without_lane(raising())
    status, _, body = await call(app, "GET", "/r/boom")
    fine, _, _ = await call(app, "GET", "/r/fine")
    assert (418, {"handled": "router"}, 200) == (status, json.loads(body), fine)


def test_the_target_holds_the_exception_handlers_litestar_resolves() -> None:
    app = raising()
    _, handler, *_, handlers = targets(app)("/r/boom", "", "GET")
    assert handler.resolve_exception_handlers() == dict(handlers)
    assert _inner_teapot is handlers[BoomError]


async def test_exception_handlers_added_after_serving_apply() -> None:
    """The target holds a view of the layers' handlers, not a copy (`install_problem_handlers`)."""
    app = raising(LateBoomError)
    before = await call(app, "GET", "/r/boom")
    missing = await call(app, "GET", "/nowhere")
    app.exception_handlers[LateBoomError] = _late_teapot
    install_problem_handlers(app)
    after = await call(app, "GET", "/r/boom")
    problem = await call(app, "GET", "/nowhere")
    assert (500, 418, {"handled": "late"}) == (before[0], after[0], json.loads(after[2]))
    assert (b"application/json", b"application/problem+json") == (
        dict(missing[1])[b"content-type"],
        dict(problem[1])[b"content-type"],
    )


@pytest.mark.parametrize("lane", [True, False])
async def test_exception_handlers_replaced_after_serving_apply(lane: bool) -> None:
    """A layer given a new handler mapping after a request: Litestar reads it, so does the lane."""
    app = raising() if lane else without_lane(raising())
    before = await call(app, "GET", "/r/boom")
    handler = app.asgi_router.route_handler_index["boom"]
    (router,) = (layer for layer in handler.ownership_layers if getattr(layer, "path", "") == "/r")
    router.exception_handlers = {BoomError: _late_teapot}
    after = await call(app, "GET", "/r/boom")
    assert ({"handled": "router"}, {"handled": "late"}) == (
        json.loads(before[2]),
        json.loads(after[2]),
    )


class Stamp:
    """ASGI middleware recording the handler and template it sees, and stamping the answer."""

    def __init__(self, app: Any, label: str) -> None:
        self.app, self.label = app, label

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            SEEN.append((self.label, scope["route_handler"].name, scope["path_template"]))

        async def stamped(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message["headers"], (b"x-stamp", self.label.encode())],
                }
            await send(message)

        await self.app(scope, receive, stamped)


def with_middleware() -> Litestar:
    router = Router(
        "/r",
        route_handlers=[build_litestar_router(routes=ROUTES[:1])],
        middleware=[DefineMiddleware(Stamp, label="router")],
    )
    return Litestar(
        route_handlers=[router],
        middleware=[DefineMiddleware(Stamp, label="app")],
        logging_config=None,
    )


@pytest.mark.parametrize("lane", [True, False])
async def test_app_and_router_middleware_see_and_wrap_mic_routes(lane: bool) -> None:
    app = with_middleware() if lane else without_lane(with_middleware())
    SEEN.clear()
    status, headers, body = await call(app, "GET", "/r/items/3")
    assert (200, {"id": 3}) == (status, json.loads(body))
    assert [b"app", b"router"] == sorted(v for k, v in headers if k == b"x-stamp")
    assert [
        ("app", "items.get", "/r/items/{item_id}"),
        ("router", "items.get", "/r/items/{item_id}"),
    ] == SEEN


def test_with_middleware_the_target_is_litestar_s_route_stack() -> None:
    answer, handler, *_ = targets(with_middleware())("/r/items/3", "", "GET")
    assert isinstance(answer, Stamp)
    assert handler.fn.mic_app is not answer


def _hooked(hook: str, calls: list[str]) -> Litestar:
    async def record(*_: Any) -> None:
        calls.append(hook)

    return Litestar(route_handlers=[build_litestar_router(routes=ROUTES[:1])], **{hook: record})


@pytest.mark.parametrize("hook", ["before_request", "after_response"])
async def test_a_hook_keeps_litestar_s_handling_below_the_router(hook: str) -> None:
    calls: list[str] = []
    app = _hooked(hook, calls)
    answer, handler, *_ = targets(app)("/items/3", "", "GET")
    status, _, body = await call(app, "GET", "/items/3")
    assert (200, {"id": 3}, [hook]) == (status, json.loads(body), calls)
    assert handler.fn.mic_app is not answer


CORS_REQUESTS = [
    ("OPTIONS", [(b"origin", b"http://a.test"), (b"access-control-request-method", b"GET")]),
    ("GET", [(b"origin", b"http://a.test")]),
    ("GET", [(b"origin", b"http://elsewhere.test")]),
]


@pytest.mark.parametrize(("method", "headers"), CORS_REQUESTS)
async def test_litestar_cors_applies_to_mic_routes(method: str, headers: list[Any]) -> None:
    def app() -> Litestar:
        return build_litestar_app(
            routes=ROUTES[:1], cors_config=CORSConfig(allow_origins=["http://a.test"])
        )

    answers = [
        await call(a, method, "/items/1", headers=[*HOST, *headers])
        for a in (app(), without_lane(app()))
    ]
    assert answers[0] == answers[1]
    if headers[0][1] == b"http://a.test":
        assert b"http://a.test" == dict(answers[0][1])[b"access-control-allow-origin"]


async def test_the_opentelemetry_plugin_still_traces_mic_routes() -> None:
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    traced = []
    for lane in (True, False):
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        plugin = OpenTelemetryPlugin(OpenTelemetryConfig(tracer_provider=provider))
        app = build_litestar_app(routes=ROUTES[:1], plugins=[plugin])
        status, _, _ = await call(app if lane else without_lane(app), "GET", "/items/1")
        spans = exporter.get_finished_spans()
        traced.append(
            (status, sorted(repr((s.name, sorted((s.attributes or {}).items()))) for s in spans))
        )
    assert traced[0] == traced[1]
    assert 200 == traced[0][0]
    assert traced[0][1]


async def test_websockets_and_lifespan_are_litestar_s() -> None:
    started: list[str] = []
    app = beside_native(on_startup=[lambda: started.append("up")])
    lifespan = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    said: list[Any] = []

    async def lifespan_receive() -> Any:
        return next(lifespan)

    async def lifespan_send(message: Any) -> None:
        said.append(message["type"])

    await app(
        {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
        lifespan_receive,
        lifespan_send,
    )
    frames = iter([{"type": "websocket.connect"}, {"type": "websocket.receive", "text": "hi"}])
    sent: list[Any] = []

    async def receive() -> Any:
        return next(frames, {"type": "websocket.disconnect", "code": 1000})

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {**_scope("GET", "/ws", "", HOST), "type": "websocket", "subprotocols": []}
    del scope["method"]
    await app(scope, receive, send)
    assert ["up"] == started
    assert ["lifespan.startup.complete", "lifespan.shutdown.complete"] == said
    assert ["websocket.accept", "websocket.send", "websocket.close"] == [m["type"] for m in sent]
    assert "echo hi" == sent[1]["text"]


async def test_a_router_registered_after_the_app_is_built_gets_the_short_path() -> None:
    app = Litestar(route_handlers=[native], logging_config=None)
    app.register(build_litestar_router(routes=ROUTES[:1]))
    status, _, body = await call(app, "GET", "/items/8")
    assert (200, {"id": 8}) == (status, json.loads(body))
    assert targets(app)("/items/8", "", "GET") is not None


class OwnRouter(ASGIRouter):
    """Someone else's router class: left alone."""

    __slots__ = ()


async def test_a_router_of_another_class_is_left_alone() -> None:
    app = Litestar(route_handlers=[native], logging_config=None)
    app.asgi_router.__class__ = OwnRouter
    app.register(build_litestar_router(routes=ROUTES[:1]))
    status, _, body = await call(app, "GET", "/items/8")
    assert (OwnRouter, 200, {"id": 8}) == (type(app.asgi_router), status, json.loads(body))


def test_each_app_has_its_own_routing_cache() -> None:
    first, second = beside_native(), beside_native()
    assert type(first.asgi_router) is not type(second.asgi_router)
    first_target = targets(first)("/items/1", "", "GET")
    assert first_target[1] is not targets(second)("/items/1", "", "GET")[1]
    assert 1 == targets(first).cache_info().currsize


async def test_more_distinct_paths_than_the_cache_holds_are_all_answered_right() -> None:
    """Attacker-chosen paths evict each other; none is answered with another's parameters."""
    app = beside_native()
    count = _lane.ROUTINGS_LIMIT + 100
    answers = [await call(app, "GET", f"/items/{n}") for n in range(count)]
    again = await call(app, "GET", "/items/0")
    assert [{"id": n} for n in range(count)] == [json.loads(body) for *_, body in answers]
    assert ({"id": 0}, _lane.ROUTINGS_LIMIT) == (
        json.loads(again[2]),
        targets(app).cache_info().currsize,
    )

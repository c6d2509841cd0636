"""Nothing a framework offers is silently skipped: guards are refused, unrouted answers intercepted."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from litestar import Litestar, Router

from mic.fastapi import build_fastapi_router, check_fastapi_app, install_problem_handlers
from mic.http import HttpRouterConfig, HttpRouteSpec, RouteSpecError
from mic.litestar import build_litestar_router, problem_exception_handlers
from mic.observability import (
    CorrelationIdInterceptor,
    HttpMetricsInterceptor,
    InMemoryMetricsBackend,
)
from tests.support import client_for, make_client, wire

CALLS: list[str] = []


def guard(*_: Any) -> None:
    """A framework guard: would record that it ran."""
    CALLS.append("guard")


async def hello() -> dict[str, str]:
    return {"hello": "world"}


ROUTES = (HttpRouteSpec(method="GET", path="/hello", name="hello", category="t", handler=hello),)
REFUSAL = "on the including router or app would .* express it as a mic interceptor"


async def _run_lifespan(app: Any) -> list[Mapping[str, Any]]:
    """Start an ASGI app's lifespan as a server does; the messages it answers with."""
    sent: list[Mapping[str, Any]] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> Mapping[str, Any]:
        return next(messages)

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    # Starlette re-raises a startup failure after reporting it to the server.
    with contextlib.suppress(RouteSpecError):
        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    return sent


async def _fastapi_with_guard(where: str) -> Any:
    if where == "app":
        app = FastAPI(dependencies=[Depends(guard)])
        app.include_router(build_fastapi_router(routes=ROUTES))
    else:
        app = FastAPI()
        app.include_router(build_fastapi_router(routes=ROUTES), dependencies=[Depends(guard)])
    return app


@pytest.mark.parametrize("where", ["app", "including router"])
async def test_a_framework_guard_makes_the_app_refuse_to_start(framework: str, where: str) -> None:
    CALLS.clear()
    if framework == "litestar":
        router = build_litestar_router(routes=ROUTES)
        nested = Router("/", route_handlers=[router], guards=[guard])
        handlers: list[Any] = [router] if where == "app" else [nested]
        guards = [guard] if where == "app" else []
        message = f"mic route at '/hello': a Litestar guard {REFUSAL}"
        with pytest.raises(RouteSpecError, match=message):
            Litestar(route_handlers=handlers, guards=guards)
        return
    app = await _fastapi_with_guard(where)
    with pytest.raises(
        RouteSpecError, match=f"mic route at '/hello': a FastAPI dependency {REFUSAL}"
    ):
        check_fastapi_app(app)
    failed = [m for m in await _run_lifespan(app) if m["type"] == "lifespan.startup.failed"]
    assert 1 == len(failed)
    assert "express it as a mic interceptor" in failed[0]["message"]
    # A server that skips the lifespan still never serves the route unguarded.
    async with client_for(app) as client:
        answer = await client.get("/hello")
    assert (500, "internal_error", []) == (answer.status_code, answer.json()["code"], CALLS)


async def test_an_app_without_foreign_guards_starts(framework: str) -> None:
    if framework == "fastapi":
        app: Any = FastAPI()
        app.include_router(build_fastapi_router(routes=ROUTES))
        check_fastapi_app(app)
        assert ["lifespan.startup.complete", "lifespan.shutdown.complete"] == [
            m["type"] for m in await _run_lifespan(app)
        ]
    else:
        app = Litestar(route_handlers=[build_litestar_router(routes=ROUTES)])
    async with client_for(app) as client:
        assert {"hello": "world"} == (await client.get("/hello")).json()


def _config(backend: InMemoryMetricsBackend) -> HttpRouterConfig:
    return HttpRouterConfig(
        interceptors=(CorrelationIdInterceptor(), HttpMetricsInterceptor(backend))
    )


async def test_unrouted_404_and_405_pass_through_the_app_wide_interceptors() -> None:
    transcripts = []
    for framework in ("fastapi", "litestar"):
        backend = InMemoryMetricsBackend()
        async with make_client(framework, ROUTES, _config(backend)) as client:
            transcripts.append(
                [
                    wire(await client.get("/nowhere", headers={"X-Request-ID": "r-404"})),
                    wire(await client.post("/hello", headers={"X-Request-ID": "r-405"})),
                    wire(
                        await client.request(
                            "PROPFIND", "/hello", headers={"X-Request-ID": "r-odd"}
                        )
                    ),
                    wire(await client.options("/hello", headers={"X-Request-ID": "r-opt"})),
                ]
            )
        assert {("", "4xx"), ("/hello", "4xx"), ("/hello", "2xx")} == {
            (s["route"], s["status_class"]) for s in backend.series("http_server_requests_total")
        }
    assert transcripts[0] == transcripts[1]
    statuses = [
        (status, dict(headers).get("x-request-id")) for status, headers, _ in transcripts[0]
    ]
    assert [(404, "r-404"), (405, "r-405"), (405, "r-odd"), (204, "r-opt")] == statuses


async def test_plain_apps_intercept_unrouted_answers_too(framework: str) -> None:
    config = _config(InMemoryMetricsBackend())
    if framework == "fastapi":
        app: Any = FastAPI()
        app.include_router(build_fastapi_router(routes=ROUTES, config=config))
        install_problem_handlers(app, config=config)
    else:
        app = Litestar(
            route_handlers=[build_litestar_router(routes=ROUTES, config=config)],
            exception_handlers=problem_exception_handlers(config=config),
        )
    async with client_for(app) as client:
        missing = await client.get("/nowhere", headers={"X-Request-ID": "abc"})
        head = await client.head("/nowhere")
    assert (404, "abc", "not_found", b"") == (
        missing.status_code,
        missing.headers["x-request-id"],
        missing.json()["code"],
        head.content,
    )


def test_routes_copied_with_foreign_dependencies_are_refused_at_once() -> None:
    """FastAPI versions that copy included routes hand the dependencies to the route itself."""
    from fastapi import APIRouter

    from mic.fastapi._router import _add_route
    from mic.http import MethodNotAllowedApp, compile_routes

    route = compile_routes(ROUTES)[0]
    router = APIRouter(dependencies=[Depends(guard)])
    with pytest.raises(
        RouteSpecError, match=f"mic route at '/hello': a FastAPI dependency {REFUSAL}"
    ):
        _add_route(router, route, MethodNotAllowedApp(("GET", "HEAD", "OPTIONS")), route.path)


async def test_the_startup_check_only_looks_at_fastapi_apps() -> None:
    from mic.fastapi._router import _checked_lifespan

    async with _checked_lifespan(object()):
        pass

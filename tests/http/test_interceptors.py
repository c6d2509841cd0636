"""Interceptors wrap the handler in a fixed order, on both adapters, bound once at build time."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from fastapi import FastAPI
from litestar import Litestar

from mic.fastapi import build_fastapi_router
from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Identity,
    Interceptor,
    RouteInterceptor,
    RouteSpecError,
    SecurityRequirement,
    build_openapi,
    compile_routes,
)
from mic.litestar import build_litestar_router
from mic.model import ForbiddenError
from tests.http.openapi_shape import api_shape
from tests.support import build_app, make_client


class Recorder:
    """A service the interceptors look up by type."""

    def __init__(self) -> None:
        self.events: list[str] = []


class Tag(RouteInterceptor):
    """Records entry/exit, adds a response header, optionally fails."""

    def __init__(self, name: str, fail: BaseException | None = None) -> None:
        self.name = name
        self.fail = fail
        self.bound = 0

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor | None:
        recorder = config.get(Recorder)
        if recorder is None:
            raise RouteSpecError(f"route {route.name!r}: Tag needs a Recorder service")
        self.bound += 1

        async def intercept(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            recorder.events.append(f"{self.name}>")
            if self.fail is not None:
                raise self.fail
            context.identity = Identity(subject=self.name, kind="test", scopes=frozenset({"a"}))
            response = await call_next(context)
            response.set_header("x-seen", (response.header("x-seen") or "") + self.name)
            recorder.events.append(f"<{self.name}")
            return response

        return intercept

    def openapi_security(self) -> SecurityRequirement | None:
        return SecurityRequirement(
            "tagAuth", {"type": "apiKey", "in": "header", "name": "X-Tag"}, ("a",)
        )

    def openapi_errors(self) -> Mapping[int, str]:
        return {403: "Tag refused"}


class Noop(RouteInterceptor):
    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor | None:
        return None


async def who(*, context: HttpRequestContext) -> dict[str, Any]:
    identity = context.identity
    return {"subject": identity.subject if identity else None}


def _routes(**policies: Any) -> tuple[HttpRouteSpec, ...]:
    return (
        HttpRouteSpec(method="GET", path="/who", name="who", category="t", handler=who, **policies),
    )


async def test_interceptors_run_outermost_first(framework: str) -> None:
    recorder = Recorder()
    config = HttpRouterConfig(services={Recorder: recorder}, interceptors=(Tag("app"), Noop()))
    routes = _routes(
        auth=Tag("auth"),
        rate_limit=Tag("rate"),
        idempotency=Tag("idem"),
        interceptors=(Tag("extra"),),
    )
    async with make_client(framework, routes, config) as client:
        response = await client.get("/who")
    assert response.json() == {"subject": "extra"}
    assert response.headers["x-seen"] == "extraidemrateauthapp"
    assert recorder.events == [
        "app>",
        "auth>",
        "rate>",
        "idem>",
        "extra>",
        "<extra",
        "<idem",
        "<rate",
        "<auth",
        "<app",
    ]


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (ForbiddenError("nope", "No entry"), 403, "nope"),
        (RuntimeError("secret detail"), 500, "internal_error"),
    ],
)
async def test_interceptor_failures_become_problems(
    framework: str, failure: BaseException, status: int, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    config = HttpRouterConfig(services={Recorder: recorder}, interceptors=(Tag("app"),))
    with caplog.at_level(logging.ERROR, logger="mic.http"):
        async with make_client(
            framework, _routes(auth=Tag("auth", fail=failure)), config
        ) as client:
            response = await client.get("/who")
    assert (status, code) == (response.status_code, response.json()["code"])
    assert "secret" not in response.text
    assert response.headers["x-seen"] == "app"  # the outer interceptor still sees the answer
    assert recorder.events == ["app>", "auth>", "<app"]


def test_binding_happens_once_and_fails_closed() -> None:
    tag = Tag("auth")
    compile_routes(_routes(auth=tag), HttpRouterConfig(services={Recorder: Recorder()}))
    assert tag.bound == 1
    for framework in ("fastapi", "litestar"):
        with pytest.raises(RouteSpecError, match="route 'who': Tag needs a Recorder service"):
            build_app(framework, _routes(auth=Tag("auth")))


def test_router_config_checks_its_services() -> None:
    with pytest.raises(TypeError, match="is not an instance of Recorder"):
        HttpRouterConfig(services={Recorder: object()})
    with pytest.raises(ValueError, match="max_body_size must be >= 0"):
        HttpRouterConfig(max_body_size=-1)
    assert None is HttpRouterConfig().get(Recorder)


async def test_security_and_errors_are_documented_on_both_frameworks() -> None:
    config = HttpRouterConfig(services={Recorder: Recorder()})
    routes = _routes(auth=Tag("auth"))
    expected = build_openapi(routes, config=config)
    operation = expected["paths"]["/who"]["get"]
    assert operation["security"] == [{"tagAuth": ["a"]}]
    assert {"200", "403"} == set(operation["responses"])
    assert expected["components"]["securitySchemes"] == {
        "tagAuth": {"type": "apiKey", "in": "header", "name": "X-Tag"}
    }
    # The one-call apps serve exactly this document; plain apps' own generators agree on it.
    for framework in ("fastapi", "litestar"):
        async with make_client(framework, routes, config) as client:
            assert expected == (await client.get("/openapi.json")).json()
    fastapi_app = FastAPI()
    fastapi_app.include_router(build_fastapi_router(routes=routes, config=config))
    litestar_app = Litestar(route_handlers=[build_litestar_router(routes=routes, config=config)])
    for document in (fastapi_app.openapi(), litestar_app.openapi_schema.to_schema()):
        assert api_shape(expected) == api_shape(document)
        assert {
            k: v
            for k, v in document["components"]["securitySchemes"]["tagAuth"].items()
            if k in ("type", "in", "name")
        } == {"type": "apiKey", "in": "header", "name": "X-Tag"}


async def test_default_auth_protects_every_route_that_declares_none(framework: str) -> None:
    from mic.http import Public

    recorder = Recorder()
    routes = (
        HttpRouteSpec(method="GET", path="/default", name="default", category="t", handler=who),
        HttpRouteSpec(
            method="GET", path="/public", name="public", category="t", handler=who, auth=Public()
        ),
        HttpRouteSpec(
            method="GET", path="/own", name="own", category="t", handler=who, auth=Tag("own")
        ),
    )
    config = HttpRouterConfig(services={Recorder: recorder}, default_auth=Tag("default"))
    async with make_client(framework, routes, config) as client:
        answers = [
            (await client.get(path)).json()["subject"] for path in ("/default", "/public", "/own")
        ]
    assert ["default", None, "own"] == answers
    assert "Public()" == repr(Public())
    document = build_openapi(routes, config=config)
    assert "security" not in document["paths"]["/public"]["get"]
    assert [{"tagAuth": ["a"]}] == document["paths"]["/default"]["get"]["security"]

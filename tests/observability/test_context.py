"""`mic.context.route`: the route template, set by the correlation interceptor, read by logs."""

from __future__ import annotations

from typing import Any

from mic import context as mic_context
from mic.http import HttpRequestContext, HttpRouterConfig, HttpRouteSpec
from mic.observability import CorrelationIdInterceptor, current_route, log_context
from tests.support import make_client

seen: list[Any] = []


async def _handler(*, item_id: str) -> dict[str, Any]:
    seen.append(mic_context.route.get())
    return {"item": item_id, "route": mic_context.route.get(), "log": log_context()["route"]}


async def _failing(*, context: HttpRequestContext) -> dict[str, Any]:
    seen.append(mic_context.route.get())
    raise RuntimeError(f"failed on {context.route_path}")


ROUTES = (
    HttpRouteSpec(
        method="GET", path="/items/{item_id}", name="items.get", category="items", handler=_handler
    ),
)
CONFIG = HttpRouterConfig(interceptors=(CorrelationIdInterceptor(),))


def test_context_module_exports_route() -> None:
    assert sorted(mic_context.__all__) == ["correlation_id", "route", "traceparent", "tracestate"]
    assert mic_context.route.name == "mic_route"
    assert mic_context.route.get() is None


def test_current_route_is_an_alias_of_the_context_variable() -> None:
    assert current_route is mic_context.route
    token = mic_context.route.set("/orders/{order_id}")
    try:
        assert current_route.get() == "/orders/{order_id}"
        assert log_context()["route"] == "/orders/{order_id}"
    finally:
        mic_context.route.reset(token)
    assert log_context()["route"] is None


async def test_interceptor_sets_the_template_not_the_path(framework: str) -> None:
    seen.clear()
    async with make_client(framework, ROUTES, CONFIG) as client:
        response = await client.get("/items/42")
    assert response.status_code == 200
    assert response.json() == {"item": "42", "route": "/items/{item_id}", "log": "/items/{item_id}"}
    assert seen == ["/items/{item_id}"]
    assert mic_context.route.get() is None


async def test_route_is_reset_when_the_handler_fails(framework: str) -> None:
    seen.clear()
    routes = (
        HttpRouteSpec(method="GET", path="/fail", name="fail", category="items", handler=_failing),
    )
    async with make_client(framework, routes, CONFIG) as client:
        response = await client.get("/fail")
    assert response.status_code == 500
    assert seen == ["/fail"]
    assert mic_context.route.get() is None


async def test_route_is_not_set_without_the_interceptor(framework: str) -> None:
    seen.clear()
    async with make_client(framework, ROUTES, HttpRouterConfig()) as client:
        response = await client.get("/items/1")
    assert response.json()["route"] is None
    assert seen == [None]

"""Handlers written as the spec's users write them run unchanged, byte for byte on both frameworks."""

from __future__ import annotations

from typing import Any

import pytest

from mic.contracts import StrictSchema, wrap_http_success
from mic.http import (
    CookieSameSite,
    Endpoint,
    HttpCookieSpec,
    HttpRequestContext,
    HttpResponse,
    HttpResponseSpec,
    HttpRouterConfig,
    HttpRouteSpec,
    Identity,
    Interceptor,
    RouteInterceptor,
)
from tests.support import make_client, wire


class CreateItemPayload(StrictSchema):
    name: str
    quantity: int = 0


class HeaderIdentity(RouteInterceptor):
    """Stands in for an auth policy: the caller's subject comes from ``X-User``."""

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        async def identify(ctx: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            if user := ctx.header("x-user"):
                ctx.identity = Identity(subject=user, kind="custom")
            return await call_next(ctx)

        return identify


def _create_item(*, payload: CreateItemPayload, ctx: HttpRequestContext) -> HttpResponseSpec:
    samesite: CookieSameSite = "strict"
    return HttpResponseSpec(
        status_code=201,
        body=wrap_http_success(
            {
                "name": payload.name,
                "qty": payload.quantity,
                "tenant": ctx.header("x-tenant"),
                "by": ctx.subject_id,
            }
        ),
        cookies=(HttpCookieSpec(key="sid", value="abc", httponly=True, samesite=samesite),),
    )


async def _get_item(*, item_id: int, ctx: HttpRequestContext) -> Any:
    return wrap_http_success(
        {
            "id": item_id,
            "raw": ctx.path_param("item_id"),
            "q": ctx.query_param("q"),
            "sid": ctx.cookie("sid"),
            "by": ctx.subject_id,
        },
        meta={"source": "spec"},
    )


ROUTES = (
    HttpRouteSpec(
        method="POST",
        path="/items",
        name="items.create",
        category="items",
        handler=_create_item,
        auth=HeaderIdentity(),
    ),
    HttpRouteSpec(
        method="GET", path="/items/{item_id}", name="items.get", category="items", handler=_get_item
    ),
)

CASES: list[tuple[str, str, dict[str, Any], int]] = [
    (
        "POST",
        "/items",
        {
            "json": {"name": " bolt ", "quantity": 3},
            "headers": {"X-Tenant": "acme", "X-User": "u-1"},
        },
        201,
    ),
    ("POST", "/items", {"json": {"name": "bolt", "quantity": 138.0}}, 201),
    ("POST", "/items", {"json": {"name": "bolt", "quantity": "138"}}, 422),
    ("POST", "/items", {"json": {"name": "bolt", "quantity": 1.5}}, 422),
    ("POST", "/items", {"json": {"name": "bolt", "quantity": True}}, 422),
    ("GET", "/items/7?q=x", {"headers": {"Cookie": "sid=s1"}}, 200),
    ("GET", "/items/7", {}, 200),
]


@pytest.mark.parametrize(("method", "path", "options", "status"), CASES)
async def test_spec_style_handlers_answer_the_same_bytes(
    method: str, path: str, options: dict[str, Any], status: int
) -> None:
    answers = []
    for framework in ("fastapi", "litestar"):
        async with make_client(framework, ROUTES) as client:
            answers.append(wire(await client.request(method, path, **options)))
    assert answers[0] == answers[1]
    assert status == answers[0][0]


async def test_spec_style_handlers_see_what_the_spec_promises(framework: str) -> None:
    async with make_client(framework, ROUTES) as client:
        created = await client.post(
            "/items",
            json={"name": " bolt ", "quantity": 138.0},
            headers={"X-Tenant": "acme", "X-User": "u-1"},
        )
        anonymous = await client.post("/items", json={"name": "nut"})
        got = await client.get("/items/7?q=x", headers={"Cookie": "sid=s1"})
    assert {
        "success": True,
        "data": {"name": "bolt", "qty": 138, "tenant": "acme", "by": "u-1"},
        "meta": None,
    } == created.json()
    assert "sid=abc; Path=/; Secure; HttpOnly; SameSite=Strict" == created.headers["set-cookie"]
    assert (None, None) == (anonymous.json()["data"]["tenant"], anonymous.json()["data"]["by"])
    assert {
        "success": True,
        "data": {"id": 7, "raw": "7", "q": "x", "sid": "s1", "by": None},
        "meta": {"source": "spec"},
    } == got.json()

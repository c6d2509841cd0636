"""Targets for the ``mic`` command tests: a Service-like object, routes, apps, a factory."""

from __future__ import annotations

from typing import Any

from mic.http import HttpRouteSpec


async def get_item(*, item_id: int) -> dict[str, int]:
    return {"id": item_id}


async def create_item() -> None:
    return None


routes = (
    HttpRouteSpec(
        method="GET",
        path="/items/{item_id}",
        name="items.get",
        category="items",
        handler=get_item,
        summary="Get an item",
    ),
    HttpRouteSpec(
        method="POST",
        path="/items",
        name="items.create",
        category="items",
        handler=create_item,
        status_code=201,
    ),
)


class SampleService:
    """What `mic` expects of a Service: ``build_app(framework)`` and its ``routes``."""

    routes = routes

    def build_app(self, framework: str) -> Any:
        if framework == "litestar":
            from mic.litestar import build_litestar_app

            return build_litestar_app(routes=self.routes, title="sample", version="2.0.0")
        from mic.fastapi import build_fastapi_app

        return build_fastapi_app(routes=self.routes, title="sample", version="2.0.0")


service = SampleService()
fastapi_app = service.build_app("fastapi")


def create(framework: str = "fastapi") -> Any:
    """A factory taking the framework."""
    return service.build_app(framework)


def create_routes() -> tuple[HttpRouteSpec, ...]:
    """A factory without arguments."""
    return routes


def fastapi_router() -> Any:
    from mic.fastapi import build_fastapi_router

    return build_fastapi_router(routes=routes, prefix="/v1")


def litestar_router() -> Any:
    from mic.litestar import build_litestar_router

    return build_litestar_router(routes=routes, prefix="/v1")


async def raw_app(scope: Any, receive: Any, send: Any) -> None:
    """A plain ASGI app: it serves no document."""
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b""})


not_a_target = 42
empty: tuple[HttpRouteSpec, ...] = ()


class DefaultingService(SampleService):
    """A Service whose ``build_app`` chooses the framework itself when not told."""

    def build_app(self, framework: str | None = None) -> Any:  # type: ignore[override]
        return super().build_app(framework or "litestar")


defaulting = DefaultingService()


def catalog(version: int = 1) -> Any:
    """An event catalog: the service publishes orders.placed (v2 adds a required field)."""
    from pydantic import BaseModel

    from mic.eventbus import EventCatalog, EventSpec

    class OrderPlaced(BaseModel):
        order_id: int

    class OrderPlacedV2(BaseModel):
        order_id: int
        total: float

    payload = OrderPlaced if version == 1 else OrderPlacedV2
    return EventCatalog(
        title="orders", version=f"{version}.0.0", publishes=[EventSpec("orders.placed", payload)]
    )


def catalog_v2() -> Any:
    return catalog(2)


class WithCatalog:
    catalog = catalog()


holder = WithCatalog()
asyncapi_document = {"asyncapi": "3.0.0", "info": {"title": "t", "version": "1"}}

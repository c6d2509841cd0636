"""The example service behind `make demo`: an items API built from specs and mic-kit parts.

It runs on FastAPI or Litestar, chosen by ``MIC_HTTP_FRAMEWORK=fastapi|litestar`` (default
fastapi), with embedded defaults only (nothing to install or start): in-memory storage with
optimistic concurrency and keyset pages, ``/health``, ``/ready``, ``/metrics``, a
correlation id on every answer, and JSON logs; subscribers of the WebSocket ``/ws/items``
get a broadcast for every create, replace and delete. Serve it with
``python -m examples.service``; docs at http://127.0.0.1:8000/docs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, Field

from mic.contracts import HttpSuccessEnvelope, PageMeta, StrictSchema, wrap_http_success
from mic.datastorage import DataStorage, InMemoryDataStorage
from mic.healthcheck import ReadinessChecker, health_route, readiness_route
from mic.http import HttpLink, HttpResponseSpec, HttpRouterConfig, HttpRouteSpec, Query
from mic.model import ConflictError, NotFoundError
from mic.observability import (
    CorrelationIdInterceptor,
    HttpMetricsInterceptor,
    PrometheusMetricsBackend,
    configure_logging,
    metrics_route,
)
from mic.realtime import RealtimeHub, Room, WebSocketRouteSpec

FRAMEWORKS = ("fastapi", "litestar")


class CreateItemPayload(StrictSchema):
    """What a client sends to create an item."""

    name: str = Field(min_length=1, max_length=100)
    quantity: int = Field(default=0, ge=0)


class UpdateItemPayload(StrictSchema):
    """A full replacement, guarded by the version the client last read."""

    name: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=0)
    version: int


class Item(BaseModel):
    """An item as stored and returned; `version` grows with every change."""

    id: uuid.UUID
    version: int = 0
    name: str
    quantity: int


class ItemChanged(BaseModel):
    """Pushed to ``/ws/items`` subscribers; `item` is ``None`` once deleted."""

    item_id: uuid.UUID
    change: str
    item: Item | None = None


ITEM_CHANGES = Room("items", ItemChanged, description="Every change to an item.")
ITEMS_LIVE = WebSocketRouteSpec(
    path="/ws/items",
    name="items.live",
    room=ITEM_CHANGES,
    category="items",
    summary="Item changes, as they happen",
)


def build_routes(
    items: DataStorage[Item],
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    hub: RealtimeHub | None = None,
) -> tuple[HttpRouteSpec, ...]:
    """The items API, as pure data; `new_id` names new items; `hub` hears every change."""

    async def changed(item_id: uuid.UUID, change: str, item: Item | None = None) -> None:
        if hub is not None:
            await hub.publish(ITEM_CHANGES, ItemChanged(item_id=item_id, change=change, item=item))

    async def create_item(*, payload: CreateItemPayload) -> HttpResponseSpec:
        item = await items.add(Item(id=new_id(), **payload.model_dump()))
        await changed(item.id, "created", item)
        return HttpResponseSpec(status_code=201, body=wrap_http_success(item),
                                headers={"Location": f"/items/{item.id}"})  # fmt: skip

    async def list_items(
        *,
        limit: Annotated[int, Field(ge=1, le=100), Query(description="Page size")] = 20,
        cursor: Annotated[
            str | None,
            Field(min_length=1),
            Query(description="`meta.next_cursor` of the previous page"),
        ] = None,
    ) -> HttpSuccessEnvelope[list[Item], PageMeta]:
        page = await items.list(order_by=("name",), limit=limit, cursor=cursor)
        return wrap_http_success(page.items, meta=PageMeta(next_cursor=page.next_cursor))

    async def get_item(*, item_id: uuid.UUID) -> HttpSuccessEnvelope[Item]:
        item = await items.get(item_id)
        if item is None:
            raise NotFoundError("item_not_found", f"Item {item_id} does not exist")
        return wrap_http_success(item)

    async def replace_item(
        *, item_id: uuid.UUID, payload: UpdateItemPayload
    ) -> HttpSuccessEnvelope[Item]:
        if await items.get(item_id) is None:
            raise NotFoundError("item_not_found", f"Item {item_id} does not exist")
        item = await items.update(Item(id=item_id, **payload.model_dump()))
        await changed(item_id, "replaced", item)
        return wrap_http_success(item)

    async def delete_item(*, item_id: uuid.UUID) -> None:
        if await items.get(item_id) is None:
            raise NotFoundError("item_not_found", f"Item {item_id} does not exist")
        await items.delete(item_id)
        await changed(item_id, "deleted")

    new_item = {"item_id": "$response.body#/data/id"}
    return (
        HttpRouteSpec(method="POST", path="/items", name="items.create", category="items",
                      handler=create_item, status_code=201, summary="Create an item",
                      response_model=HttpSuccessEnvelope[Item],
                      links={"get": HttpLink("items.get", new_item),
                             "replace": HttpLink("items.replace", new_item),
                             "delete": HttpLink("items.delete", new_item)}),
        HttpRouteSpec(method="GET", path="/items", name="items.list", category="items",
                      handler=list_items, summary="List items by name, a page at a time",
                      response_model=HttpSuccessEnvelope[list[Item], PageMeta]),
        HttpRouteSpec(method="GET", path="/items/{item_id}", name="items.get", category="items",
                      handler=get_item, summary="Get an item",
                      response_model=HttpSuccessEnvelope[Item], errors=(NotFoundError,)),
        HttpRouteSpec(method="PUT", path="/items/{item_id}", name="items.replace",
                      category="items", handler=replace_item, summary="Replace an item",
                      response_model=HttpSuccessEnvelope[Item],
                      errors=(NotFoundError, ConflictError)),
        HttpRouteSpec(method="DELETE", path="/items/{item_id}", name="items.delete",
                      category="items", handler=delete_item, status_code=204,
                      summary="Delete an item", errors=(NotFoundError,)),
    )  # fmt: skip


def create_app(
    framework: str | None = None,
    *,
    registry: Any = None,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Any:
    """The example app on `framework` (default: ``MIC_HTTP_FRAMEWORK`` or fastapi).

    Args:
        framework: ``fastapi`` or ``litestar``.
        registry: The Prometheus registry for this app's metrics (a new one by default, so
            two apps never mix their series).
        new_id: Makes the id of a new item (random UUIDs by default).

    Raises:
        ValueError: The framework is not one of fastapi, litestar.
    """
    chosen = (framework or os.environ.get("MIC_HTTP_FRAMEWORK") or "fastapi").strip().lower()
    if chosen not in FRAMEWORKS:
        raise ValueError(
            f"MIC_HTTP_FRAMEWORK must be one of {', '.join(FRAMEWORKS)}, not {chosen!r}"
        )
    from prometheus_client import CollectorRegistry

    registry = registry if registry is not None else CollectorRegistry()
    items: DataStorage[Item] = InMemoryDataStorage(Item)
    hub = RealtimeHub()
    routes = (
        *build_routes(items, new_id, hub),
        health_route(),
        readiness_route(ReadinessChecker([items.probe()])),
        metrics_route(registry),
    )
    config = HttpRouterConfig(services={RealtimeHub: hub}, interceptors=(
        CorrelationIdInterceptor(),
        HttpMetricsInterceptor(PrometheusMetricsBackend(registry)),
    ))  # fmt: skip
    if chosen == "fastapi":
        from mic.fastapi import build_fastapi_app, build_fastapi_realtime_router

        app = build_fastapi_app(
            routes=routes, config=config, title="mic-kit example", version="1.0.0"
        )
        app.include_router(build_fastapi_realtime_router(routes=[ITEMS_LIVE], config=config))
        return app
    from mic.litestar import build_litestar_app, build_litestar_realtime_router

    live = build_litestar_realtime_router(routes=[ITEMS_LIVE], config=config)
    return build_litestar_app(
        routes=routes,
        config=config,
        title="mic-kit example",
        version="1.0.0",
        route_handlers=[live],
    )


def main() -> None:
    """Serve the example with uvicorn on ``MIC_HOST``:``MIC_PORT`` (127.0.0.1:8000)."""
    import uvicorn

    configure_logging(format=os.environ.get("MIC_LOG_FORMAT", "json"), level="INFO")
    host = os.environ.get("MIC_HOST", "127.0.0.1")
    port = int(os.environ.get("MIC_PORT", "8000"))
    app = create_app()
    print(
        f"mic-kit example on {os.environ.get('MIC_HTTP_FRAMEWORK', 'fastapi')}: http://{host}:{port}/docs"
    )
    uvicorn.run(app, host=host, port=port, log_config=None)


if __name__ == "__main__":
    main()

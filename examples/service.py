"""The example service behind `make demo`: an items API built from specs and mic-kit parts.

It runs on FastAPI or Litestar, chosen by ``MIC_HTTP_FRAMEWORK=fastapi|litestar`` (default
fastapi), with embedded defaults only (nothing to install or start): in-memory storage with
optimistic concurrency and keyset pages, ``/health``, ``/ready``, ``/metrics``, a
correlation id on every answer, and JSON logs; item reads are served from a response cache
(ETag, 304) that writes invalidate, and ``POST /admin/cache/purge`` needs a service token
whose ``roles`` claim grants ``cache:purge`` (RBAC). Serve it with ``python -m
examples.service`` (it prints an operator token); docs at http://127.0.0.1:8000/docs.
Subscribers of the WebSocket ``/ws/items`` get every create, replace and delete as it happens.
"""

from __future__ import annotations

import functools
import os
import secrets
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, Field

from mic.auth import ServiceAuth, ServiceAuthSigner, ServiceAuthVerifier, ServiceKey
from mic.authz import AuthorizationEngine, Authorize, RbacEngine, Role
from mic.cache import InMemoryCache
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
from mic.response_cache import ResponseCache, ResponseCacheStore

FRAMEWORKS = ("fastapi", "litestar")
AUDIENCE = "mic-demo"
RBAC = RbacEngine({"operator": Role(permissions=["cache:purge"])})


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
    cache: ResponseCacheStore | None = None,
    hub: RealtimeHub | None = None,
) -> tuple[HttpRouteSpec, ...]:
    """The items API, as pure data; `new_id` names new items; reads go through `cache`.

    `hub` broadcasts every change to the ``/ws/items`` subscribers.
    """

    async def pushed(item_id: uuid.UUID, change: str, item: Item | None = None) -> None:
        if hub is not None:
            await hub.publish(ITEM_CHANGES, ItemChanged(item_id=item_id, change=change, item=item))

    async def changed(item_id: uuid.UUID | None = None) -> None:
        if cache is not None:
            await cache.invalidate_tags("items", *([f"item:{item_id}"] if item_id else []))

    def cached(*tags: str) -> tuple[ResponseCache, ...]:
        return (ResponseCache(ttl=60, tags=("items", *tags)),) if cache is not None else ()

    async def create_item(*, payload: CreateItemPayload) -> HttpResponseSpec:
        item = await items.add(Item(id=new_id(), **payload.model_dump()))
        await changed()
        await pushed(item.id, "created", item)
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
        updated = await items.update(Item(id=item_id, **payload.model_dump()))
        await changed(item_id)
        await pushed(item_id, "replaced", updated)
        return wrap_http_success(updated)

    async def delete_item(*, item_id: uuid.UUID) -> None:
        if await items.get(item_id) is None:
            raise NotFoundError("item_not_found", f"Item {item_id} does not exist")
        await items.delete(item_id)
        await changed(item_id)
        await pushed(item_id, "deleted")

    async def purge_cache() -> None:
        await changed()

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
                      response_model=HttpSuccessEnvelope[list[Item], PageMeta],
                      interceptors=cached()),
        HttpRouteSpec(method="GET", path="/items/{item_id}", name="items.get", category="items",
                      handler=get_item, summary="Get an item",
                      response_model=HttpSuccessEnvelope[Item], errors=(NotFoundError,),
                      interceptors=cached("item:{item_id}")),
        HttpRouteSpec(method="PUT", path="/items/{item_id}", name="items.replace",
                      category="items", handler=replace_item, summary="Replace an item",
                      response_model=HttpSuccessEnvelope[Item],
                      errors=(NotFoundError, ConflictError)),
        HttpRouteSpec(method="DELETE", path="/items/{item_id}", name="items.delete",
                      category="items", handler=delete_item, status_code=204,
                      summary="Delete an item", errors=(NotFoundError,)),
        HttpRouteSpec(method="POST", path="/admin/cache/purge", name="admin.cache_purge",
                      category="admin", handler=purge_cache, status_code=204,
                      summary="Drop every cached item answer", auth=ServiceAuth(),
                      interceptors=(Authorize("purge", "cache"),)),
    )  # fmt: skip


def create_app(
    framework: str | None = None,
    *,
    registry: Any = None,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    operator_key: ServiceKey | None = None,
) -> Any:
    """The example app on `framework` (default: ``MIC_HTTP_FRAMEWORK`` or fastapi).

    Args:
        framework: ``fastapi`` or ``litestar``.
        registry: The Prometheus registry for this app's metrics (a new one by default, so
            two apps never mix their series).
        new_id: Makes the id of a new item (random UUIDs by default).
        operator_key: Verifies operator tokens (`demo_key()` by default).

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
    cache = ResponseCacheStore(InMemoryCache(max_entries=10_000))
    verifier = ServiceAuthVerifier(
        audience=AUDIENCE, issuers=["operator"], keys=operator_key or demo_key()
    )
    hub = RealtimeHub()
    routes = (
        *build_routes(items, new_id, cache, hub),
        health_route(),
        readiness_route(ReadinessChecker([items.probe()])),
        metrics_route(registry),
    )
    config = HttpRouterConfig(interceptors=(
        CorrelationIdInterceptor(),
        HttpMetricsInterceptor(PrometheusMetricsBackend(registry)),
    ), services={ResponseCacheStore: cache, ServiceAuthVerifier: verifier,
                 AuthorizationEngine: RBAC, RealtimeHub: hub})  # fmt: skip
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


@functools.cache
def demo_key() -> ServiceKey:
    """The HMAC key of operator tokens: ``MIC_DEMO_SECRET``, or a random one per process."""
    secret = os.environ.get("MIC_DEMO_SECRET", "").encode() or secrets.token_bytes(32)
    return ServiceKey.hmac("demo", secret)


def main() -> None:
    """Serve the example with uvicorn on ``MIC_HOST``:``MIC_PORT`` (127.0.0.1:8000)."""
    import uvicorn

    configure_logging(format=os.environ.get("MIC_LOG_FORMAT", "json"), level="INFO")
    host = os.environ.get("MIC_HOST", "127.0.0.1")
    port = int(os.environ.get("MIC_PORT", "8000"))
    app = create_app()
    signer = ServiceAuthSigner(issuer="operator", keys=demo_key())
    token = signer.sign(AUDIENCE, claims={"roles": ["operator"]}, lifetime=3600)
    print(f"operator token (1 h), for POST /admin/cache/purge: Bearer {token}")
    print(
        f"mic-kit example on {os.environ.get('MIC_HTTP_FRAMEWORK', 'fastapi')}: http://{host}:{port}/docs"
    )
    uvicorn.run(app, host=host, port=port, log_config=None)


if __name__ == "__main__":
    main()

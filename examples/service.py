"""The example service behind `make demo`: an items API with storage, outbox and a consumer.

Everything comes from settings (`mic.settings`, ``MIC_*`` variables or ``.env``): by default
items live in SQLite (``./mic-demo.db``, so they survive a restart), each change writes an
``items.*`` event to the transactional outbox in the same transaction, a dispatcher
publishes it to the event bus (``memory://`` by default) and an in-process consumer logs
it. It runs on FastAPI or Litestar (``MIC_HTTP__FRAMEWORK``), with ``/health``, ``/ready``,
``/metrics``, a correlation id on every answer and JSON logs. Item reads are served from a
response cache (ETag, 304) that writes invalidate, and ``POST /admin/cache/purge`` needs a
service token whose ``roles`` claim grants ``cache:purge`` (RBAC). The consumer also pushes
each change to the subscribers of the WebSocket ``/ws/items``. Serve it with
``python -m examples.service`` (it prints an operator token); docs at
http://127.0.0.1:8000/docs.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import uuid
from collections import deque
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel as PydanticBaseModel
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from mic.auth import ServiceAuth, ServiceAuthSigner, ServiceAuthVerifier, ServiceKey
from mic.authz import AuthorizationEngine, Authorize, RbacEngine, Role
from mic.cache import InMemoryCache
from mic.contracts import HttpSuccessEnvelope, PageMeta, StrictSchema, wrap_http_success
from mic.datastorage import DataStorage
from mic.eventbus import Event, EventBus
from mic.http import HttpLink, HttpResponseSpec, HttpRouterConfig, HttpRouteSpec, Query
from mic.model import ConflictError, NotFoundError
from mic.outbox import DispatcherOptions, InMemoryOutboxStore, OutboxDispatcher, OutboxStore
from mic.realtime import RealtimeHub, Room, WebSocketRouteSpec
from mic.response_cache import ResponseCache, ResponseCacheStore
from mic.service import Handle, Service
from mic.settings import MicSettings, SecretUrl, ServiceSettings, StorageSettings

logger = logging.getLogger("examples.service")
DEMO_DATABASE = "sqlite+aiosqlite:///./mic-demo.db"
AUDIENCE = "mic-demo"
RBAC = RbacEngine({"operator": Role(permissions=["cache:purge"])})


class DemoSettings(MicSettings):
    """The demo's settings: the library's, with SQLite as the default storage."""

    service: ServiceSettings = PydanticField(
        default_factory=lambda: ServiceSettings(name="mic-kit example", version="1.0.0")
    )
    storage: StorageSettings = PydanticField(
        default_factory=lambda: StorageSettings(url=SecretUrl(DEMO_DATABASE))
    )


class CreateItemPayload(StrictSchema):
    """What a client sends to create an item."""

    name: str = PydanticField(min_length=1, max_length=100)
    quantity: int = PydanticField(default=0, ge=0)


class UpdateItemPayload(StrictSchema):
    """A full replacement, guarded by the version the client last read."""

    name: str = PydanticField(min_length=1, max_length=100)
    quantity: int = PydanticField(ge=0)
    version: int


class Item(SQLModel, table=True):
    """An item as stored and returned; `version` grows with every change."""

    __tablename__ = "demo_items"

    id: uuid.UUID = Field(primary_key=True)
    version: int = 0
    name: str = Field(index=True)
    quantity: int


class ItemChanged(PydanticBaseModel):
    """Pushed to ``/ws/items`` subscribers: which item changed and how."""

    item_id: uuid.UUID
    change: Literal["created", "replaced", "deleted"]


ITEM_CHANGES = Room("items", ItemChanged, description="Every change to an item.")
ITEMS_LIVE = WebSocketRouteSpec(
    path="/ws/items",
    name="items.live",
    room=ITEM_CHANGES,
    category="items",
    summary="Item changes, as the outbox delivers them",
)


def build_routes(
    items: Handle[DataStorage[Item]],
    outbox: Handle[OutboxStore],
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    notify: Callable[[], None] = lambda: None,
    cache: ResponseCacheStore | None = None,
) -> tuple[HttpRouteSpec, ...]:
    """The items API, as pure data; each change also writes an event to the outbox.

    `notify` is called after each commit: the dispatcher then publishes at once instead of
    at its next poll. Reads go through `cache`, and each change invalidates what it touched.
    """

    async def changed(item_id: uuid.UUID | None = None) -> None:
        notify()
        if cache is not None:
            await cache.invalidate_tags("items", *([f"item:{item_id}"] if item_id else []))

    def cached(*tags: str) -> tuple[ResponseCache, ...]:
        return (ResponseCache(ttl=60, tags=("items", *tags)),) if cache is not None else ()

    async def create_item(*, payload: CreateItemPayload) -> HttpResponseSpec:
        storage = items.get()
        async with storage.unit_of_work():
            item = await storage.add(Item(id=new_id(), **payload.model_dump()))
            await outbox.get().add(Event("items.created", {"id": str(item.id), "name": item.name}))
        await changed()
        return HttpResponseSpec(
            status_code=201, body=wrap_http_success(item), headers={"Location": f"/items/{item.id}"}
        )

    async def list_items(
        *,
        limit: Annotated[int, PydanticField(ge=1, le=100), Query(description="Page size")] = 20,
        cursor: Annotated[
            str | None,
            PydanticField(min_length=1),
            Query(description="`meta.next_cursor` of the previous page"),
        ] = None,
    ) -> HttpSuccessEnvelope[list[Item], PageMeta]:
        page = await items.get().list(order_by=("name",), limit=limit, cursor=cursor)
        return wrap_http_success(page.items, meta=PageMeta(next_cursor=page.next_cursor))

    async def get_item(*, item_id: uuid.UUID) -> HttpSuccessEnvelope[Item]:
        item = await items.get().get(item_id)
        if item is None:
            raise NotFoundError("item_not_found", f"Item {item_id} does not exist")
        return wrap_http_success(item)

    async def replace_item(
        *, item_id: uuid.UUID, payload: UpdateItemPayload
    ) -> HttpSuccessEnvelope[Item]:
        storage = items.get()
        if await storage.get(item_id) is None:
            raise NotFoundError("item_not_found", f"Item {item_id} does not exist")
        async with storage.unit_of_work():
            item = await storage.update(Item(id=item_id, **payload.model_dump()))
            await outbox.get().add(Event("items.replaced", {"id": str(item_id)}))
        await changed(item_id)
        return wrap_http_success(item)

    async def delete_item(*, item_id: uuid.UUID) -> None:
        storage = items.get()
        if await storage.get(item_id) is None:
            raise NotFoundError("item_not_found", f"Item {item_id} does not exist")
        async with storage.unit_of_work():
            await storage.delete(item_id)
            await outbox.get().add(Event("items.deleted", {"id": str(item_id)}))
        await changed(item_id)

    async def purge_cache() -> None:
        await changed()

    new_item = {"item_id": "$response.body#/data/id"}
    return (
        HttpRouteSpec(
            method="POST",
            path="/items",
            name="items.create",
            category="items",
            handler=create_item,
            status_code=201,
            summary="Create an item",
            response_model=HttpSuccessEnvelope[Item],
            links={
                "get": HttpLink("items.get", new_item),
                "replace": HttpLink("items.replace", new_item),
                "delete": HttpLink("items.delete", new_item),
            },
        ),
        HttpRouteSpec(
            method="GET",
            path="/items",
            name="items.list",
            category="items",
            handler=list_items,
            summary="List items by name, a page at a time",
            response_model=HttpSuccessEnvelope[list[Item], PageMeta],
            interceptors=cached(),
        ),
        HttpRouteSpec(
            method="GET",
            path="/items/{item_id}",
            name="items.get",
            category="items",
            handler=get_item,
            summary="Get an item",
            response_model=HttpSuccessEnvelope[Item],
            errors=(NotFoundError,),
            interceptors=cached("item:{item_id}"),
        ),
        HttpRouteSpec(
            method="PUT",
            path="/items/{item_id}",
            name="items.replace",
            category="items",
            handler=replace_item,
            summary="Replace an item",
            response_model=HttpSuccessEnvelope[Item],
            errors=(NotFoundError, ConflictError),
        ),
        HttpRouteSpec(
            method="DELETE",
            path="/items/{item_id}",
            name="items.delete",
            category="items",
            handler=delete_item,
            status_code=204,
            summary="Delete an item",
            errors=(NotFoundError,),
        ),
        HttpRouteSpec(
            method="POST",
            path="/admin/cache/purge",
            name="admin.cache_purge",
            category="admin",
            handler=purge_cache,
            status_code=204,
            summary="Drop every cached item answer",
            auth=ServiceAuth(),
            interceptors=(Authorize("purge", "cache"),),
        ),
    )


def build_service(
    settings: MicSettings | None = None,
    *,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    on_event: Callable[[Event], None] | None = None,
    operator_key: ServiceKey | None = None,
) -> Service:
    """The demo service: storage, outbox, bus, dispatcher and consumer, from `settings`.

    Args:
        settings: Default: `DemoSettings.load()` (environment, ``.env``, secrets).
        new_id: Makes the id of a new item (random UUIDs by default).
        on_event: Also called with each event the in-process consumer receives.
        operator_key: Verifies operator tokens (`demo_key()` by default).
    """
    settings = settings or DemoSettings.load()
    cache = ResponseCacheStore(InMemoryCache(max_entries=10_000))
    hub = RealtimeHub()
    verifier = ServiceAuthVerifier(
        audience=AUDIENCE, issuers=["operator"], keys=operator_key or demo_key()
    )
    config = HttpRouterConfig(
        services={
            ResponseCacheStore: cache,
            ServiceAuthVerifier: verifier,
            AuthorizationEngine: RBAC,
            RealtimeHub: hub,
        }
    )
    service = Service(settings, metrics=True, config=config)
    storage = settings.storage

    async def open_engine() -> Any:
        engine = storage.create_engine()
        async with engine.begin() as connection:  # a demo creates its tables; services migrate
            await connection.run_sync(SQLModel.metadata.create_all, tables=[Item.__table__])
        return engine

    engine = (
        None if storage.in_memory else service.add_resource("database", open_engine, probe=False)
    )
    deps = () if engine is None else (engine,)
    items = service.add_resource(
        "items",
        lambda: storage.build(Item, engine=engine.get() if engine else None),
        depends_on=deps,
    )

    async def open_outbox() -> OutboxStore:
        if engine is None:
            return InMemoryOutboxStore()
        from mic.outbox import SqlOutboxStore

        store = SqlOutboxStore(engine.get())
        await store.create_schema()
        return store

    outbox = service.add_resource("outbox", open_outbox, depends_on=deps, probe=False)
    bus: Handle[EventBus] = service.add_resource("eventbus", settings.eventbus.connect)

    recent: deque[dict[str, Any]] = deque(maxlen=50)

    async def log_event(event: Event) -> None:
        logger.info("consumer received %s", event.topic, extra={"event": event.payload})
        recent.append({"topic": event.topic, "id": event.id, "payload": event.payload})
        change = event.topic.removeprefix("items.")
        await hub.publish(ITEM_CHANGES, ItemChanged(item_id=event.payload["id"], change=change))
        if on_event is not None:
            on_event(event)

    service.add_consumer(
        "items-log",
        bus,
        ["items.created", "items.replaced", "items.deleted"],
        log_event,
        group="demo-log",
    )
    dispatcher: Handle[OutboxDispatcher] = service.add_worker(
        "outbox-dispatcher",
        lambda: OutboxDispatcher(
            outbox.get(), bus.get(), options=DispatcherOptions(poll_interval=1.0)
        ),
        depends_on=(outbox, bus),
    )

    async def received_events() -> HttpSuccessEnvelope[list[dict[str, Any]]]:
        return wrap_http_success(list(recent))

    service.add_routes(
        HttpRouteSpec(
            method="GET",
            path="/events",
            name="events.recent",
            category="events",
            handler=received_events,
            summary="The last 50 events the in-process consumer received",
        ),
    )
    service.add_resource("realtime", lambda: hub, close=lambda h: h.close(grace=1.0), probe=False)
    service.add_realtime_routes(ITEMS_LIVE)
    service.add_routes(
        *build_routes(items, outbox, new_id, notify=lambda: dispatcher.get().notify(), cache=cache)
    )
    return service


def create_app(framework: str | None = None, **options: Any) -> Any:
    """The demo app on `framework` (default ``MIC_HTTP__FRAMEWORK``); see `build_service`."""
    return build_service(**options).build_app(framework)


@functools.cache
def demo_key() -> ServiceKey:
    """The HMAC key of operator tokens: ``MIC_DEMO_SECRET``, or a random one per process."""
    secret = os.environ.get("MIC_DEMO_SECRET", "").encode() or secrets.token_bytes(32)
    return ServiceKey.hmac("demo", secret)


def main() -> None:
    """Serve the demo with uvicorn on ``MIC_HTTP__HOST``:``MIC_HTTP__PORT`` (127.0.0.1:8000)."""
    service = build_service()
    settings = service.settings
    settings.logging.apply()
    http = settings.http
    signer = ServiceAuthSigner(issuer="operator", keys=demo_key())
    token = signer.sign(AUDIENCE, claims={"roles": ["operator"]}, lifetime=3600)
    print(f"operator token (1 h), for POST /admin/cache/purge: Bearer {token}")
    print(
        f"mic-kit example on {http.framework}: http://{http.host}:{http.port}/docs "
        f"(storage {settings.storage.url}, events {settings.eventbus.url})"
    )
    service.serve()


if __name__ == "__main__":
    main()

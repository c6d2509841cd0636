"""The example service behind `make demo`: an items API built from specs.

It runs on FastAPI or Litestar, chosen by ``MIC_HTTP_FRAMEWORK=fastapi|litestar`` (default
fastapi), with embedded defaults only (nothing to install or start). Serve it with
``python -m examples.service``; docs at http://127.0.0.1:8000/docs.
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import Annotated, Any

from mic.contracts import HttpSuccessEnvelope, StrictSchema, wrap_http_success
from mic.http import HttpResponseSpec, HttpRouteSpec, Query
from mic.model import ConflictError, NotFoundError

FRAMEWORKS = ("fastapi", "litestar")


class CreateItemPayload(StrictSchema):
    """What a client sends to create an item."""

    name: str
    quantity: int = 0


class Item(StrictSchema):
    """An item as the API returns it."""

    id: int
    name: str
    quantity: int


class ItemCatalog:
    """A small thread-safe in-memory catalog (handlers may run in worker threads)."""

    def __init__(self) -> None:
        self._items: dict[int, Item] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, payload: CreateItemPayload) -> Item:
        with self._lock:
            if any(item.name == payload.name for item in self._items.values()):
                raise ConflictError("item_exists", f"An item named {payload.name!r} exists")
            item = Item(id=next(self._ids), name=payload.name, quantity=payload.quantity)
            self._items[item.id] = item
            return item

    def get(self, item_id: int) -> Item:
        with self._lock:
            if item_id not in self._items:
                raise NotFoundError("item_not_found", f"Item {item_id} does not exist")
            return self._items[item_id]

    def list(self, offset: int, limit: int) -> list[Item]:
        with self._lock:
            return sorted(self._items.values(), key=lambda i: i.id)[offset : offset + limit]

    def delete(self, item_id: int) -> None:
        with self._lock:
            if self._items.pop(item_id, None) is None:
                raise NotFoundError("item_not_found", f"Item {item_id} does not exist")


def build_routes(catalog: ItemCatalog) -> tuple[HttpRouteSpec, ...]:
    """The service's routes, as pure data."""

    async def create_item(*, payload: CreateItemPayload) -> HttpResponseSpec:
        item = catalog.add(payload)
        return HttpResponseSpec(status_code=201, body=wrap_http_success(item),
                                headers={"Location": f"/items/{item.id}"})  # fmt: skip

    async def get_item(*, item_id: int) -> HttpSuccessEnvelope[Item]:
        return wrap_http_success(catalog.get(item_id))

    async def list_items(
        *, offset: Annotated[int, Query(description="Items to skip")] = 0, limit: int = 50
    ) -> HttpSuccessEnvelope[list[Item]]:
        items = catalog.list(offset, limit)
        return wrap_http_success(items, meta={"offset": offset, "limit": limit})

    async def delete_item(*, item_id: int) -> None:
        catalog.delete(item_id)

    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return (
        HttpRouteSpec(method="POST", path="/items", name="items.create", category="items",
                      handler=create_item, status_code=201, summary="Create an item",
                      response_model=HttpSuccessEnvelope[Item], errors=(ConflictError,)),
        HttpRouteSpec(method="GET", path="/items", name="items.list", category="items",
                      handler=list_items, summary="List items",
                      response_model=HttpSuccessEnvelope[list[Item]]),
        HttpRouteSpec(method="GET", path="/items/{item_id}", name="items.get", category="items",
                      handler=get_item, summary="Get an item",
                      response_model=HttpSuccessEnvelope[Item], errors=(NotFoundError,)),
        HttpRouteSpec(method="DELETE", path="/items/{item_id}", name="items.delete",
                      category="items", handler=delete_item, status_code=204,
                      summary="Delete an item", errors=(NotFoundError,)),
        HttpRouteSpec(method="GET", path="/health", name="health", category="ops",
                      handler=health, summary="Liveness"),
    )  # fmt: skip


def create_app(framework: str | None = None) -> Any:
    """The example app on `framework` (default: ``MIC_HTTP_FRAMEWORK`` or fastapi).

    Raises:
        ValueError: The framework is not one of fastapi, litestar.
    """
    chosen = (framework or os.environ.get("MIC_HTTP_FRAMEWORK") or "fastapi").strip().lower()
    if chosen not in FRAMEWORKS:
        raise ValueError(
            f"MIC_HTTP_FRAMEWORK must be one of {', '.join(FRAMEWORKS)}, not {chosen!r}"
        )
    routes = build_routes(ItemCatalog())
    if chosen == "fastapi":
        from mic.fastapi import build_fastapi_app

        return build_fastapi_app(routes=routes, title="mic-kit example", version="1.0.0")
    from mic.litestar import build_litestar_app

    return build_litestar_app(routes=routes, title="mic-kit example", version="1.0.0")


def main() -> None:
    """Serve the example with uvicorn on ``MIC_HOST``:``MIC_PORT`` (127.0.0.1:8000)."""
    import uvicorn

    host = os.environ.get("MIC_HOST", "127.0.0.1")
    port = int(os.environ.get("MIC_PORT", "8000"))
    app = create_app()
    print(
        f"mic-kit example on {os.environ.get('MIC_HTTP_FRAMEWORK', 'fastapi')}: http://{host}:{port}/docs"
    )
    uvicorn.run(app, host=host, port=port, log_level="info")


if __name__ == "__main__":
    main()

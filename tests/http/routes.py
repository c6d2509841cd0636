"""A kitchen-sink service built from specs, served by every adapter in the parity suite."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import threading
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mic.contracts import StrictSchema, wrap_http_success
from mic.http import (
    Cookie,
    Header,
    HttpCookieSpec,
    HttpRequestContext,
    HttpResponseSpec,
    HttpRouteSpec,
    Query,
)
from mic.model import ConflictError, NotFoundError, TransientError


class CreateItemPayload(StrictSchema):
    name: str
    quantity: int = 0


class Item(StrictSchema):
    id: int
    name: str


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Patch(BaseModel):
    name: str | None = None


def create_item(*, payload: CreateItemPayload) -> HttpResponseSpec:
    return HttpResponseSpec(
        status_code=201,
        body=wrap_http_success({"name": payload.name, "qty": payload.quantity}),
    )


async def get_item(*, item_id: int) -> Item:
    if item_id == 404:
        raise NotFoundError("item_not_found", f"Item {item_id} does not exist", {"id": item_id})
    return Item(id=item_id, name="widget")


async def replace_item(*, item_id: int, payload: CreateItemPayload) -> dict[str, object]:
    if payload.name == "taken":
        raise ConflictError("name_taken", "Name already used", {"name": payload.name})
    return {"id": item_id, "name": payload.name}


async def delete_item(*, item_id: int) -> None:
    return None


async def patch_item(*, item_id: int, payload: Patch | None = None) -> dict[str, object]:
    return {"id": item_id, "patched": payload.name if payload else None}


async def search(
    *,
    q: str,
    limit: Annotated[int, Field(ge=1, le=100)] = 10,
    tags: list[str] | None = None,
    ids: Annotated[list[int], Query(alias="id")] = [],  # noqa: B006 - copied per request
    exact: bool = False,
    color: Color | None = None,
    level: Level = Level.LOW,
    sort: Literal["asc", "desc"] = "asc",
    page: Literal[1, 2, 3] = 1,
    ref: uuid.UUID | None = None,
    since: dt.datetime | None = None,
    day: dt.date | None = None,
    price: Decimal | None = None,
) -> dict[str, object]:
    return {
        "q": q,
        "limit": limit,
        "tags": tags,
        "ids": ids,
        "exact": exact,
        "color": color,
        "level": level,
        "sort": sort,
        "page": page,
        "ref": ref,
        "since": since,
        "day": day,
        "price": price,
    }


async def whoami(
    *,
    context: HttpRequestContext,
    x_tenant: Annotated[str, Header()],
    accept_language: Annotated[str | None, Header()] = None,
    session: Annotated[str | None, Cookie()] = None,
    traces: Annotated[list[str], Header(alias="X-Trace")] = [],  # noqa: B006
) -> dict[str, object]:
    return {
        "tenant": x_tenant,
        "lang": accept_language,
        "session": session,
        "traces": traces,
        "ua": context.headers.get("USER-AGENT"),
        "path": context.path,
        "method": context.method,
        "route": context.route_path,
    }


def raw_bytes() -> HttpResponseSpec:
    return HttpResponseSpec(body=b"\x00\x01binary")


def text(*, fmt: str = "plain") -> HttpResponseSpec:
    if fmt == "csv":
        return HttpResponseSpec(body="a,b\n1,2\n", media_type="text/csv; charset=utf-8")
    return HttpResponseSpec(body="héllo")


def values() -> dict[str, object]:
    return {
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "day": dt.date(2026, 1, 2),
        "price": Decimal("10.50"),
        "point": Point(1, 2),
        "item": Item(id=1, name="a"),
        "color": Color.RED,
    }


def with_headers() -> HttpResponseSpec:
    return HttpResponseSpec(
        status_code=202,
        body={"ok": True},
        headers={"X-Custom": "yes", "Cache-Control": "no-store"},
        cookies=(
            HttpCookieSpec(key="session", value="abc123", max_age=3600),
            HttpCookieSpec(
                key="pref", value="dark", secure=False, httponly=False, samesite="strict"
            ),
        ),
    )


def explode() -> None:
    raise RuntimeError("database password is hunter2")


def unavailable() -> None:
    raise TransientError("db_down", "Database unavailable", retry_after=2.5)


GATE = threading.Event()
ENTERED = threading.Event()
"""Set while `blocking_sync` blocks its thread (cleared by `release`)."""


def blocking_sync() -> dict[str, bool]:
    """Blocks its worker thread until `release` runs: proof sync handlers leave the loop free."""
    ENTERED.set()
    return {"released": GATE.wait(timeout=5)}


async def release() -> dict[str, bool]:
    GATE.set()
    ENTERED.clear()
    await asyncio.sleep(0)
    return {"ok": True}


def item_routes() -> tuple[HttpRouteSpec, ...]:
    """The route set of the parity suite."""
    return (
        HttpRouteSpec(
            method="POST",
            path="/items",
            name="items.create",
            category="items",
            handler=create_item,
            status_code=201,
            summary="Create an item",
        ),
        HttpRouteSpec(
            method="GET",
            path="/items/{item_id}",
            name="items.get",
            category="items",
            handler=get_item,
            response_model=Item,
            errors=(NotFoundError,),
        ),
        HttpRouteSpec(
            method="PUT",
            path="/items/{item_id}",
            name="items.replace",
            category="items",
            handler=replace_item,
            errors=(ConflictError,),
        ),
        HttpRouteSpec(
            method="DELETE",
            path="/items/{item_id}",
            name="items.delete",
            category="items",
            handler=delete_item,
            status_code=204,
        ),
        HttpRouteSpec(
            method="PATCH",
            path="/items/{item_id}",
            name="items.patch",
            category="items",
            handler=patch_item,
        ),
        HttpRouteSpec(
            method="GET", path="/search", name="search", category="search", handler=search
        ),
        HttpRouteSpec(
            method=("GET", "POST"), path="/whoami", name="whoami", category="meta", handler=whoami
        ),
        HttpRouteSpec(method="GET", path="/raw", name="raw", category="meta", handler=raw_bytes),
        HttpRouteSpec(method="GET", path="/text", name="text", category="meta", handler=text),
        HttpRouteSpec(method="GET", path="/values", name="values", category="meta", handler=values),
        HttpRouteSpec(
            method="GET", path="/headers", name="headers", category="meta", handler=with_headers
        ),
        HttpRouteSpec(
            method="GET", path="/explode", name="explode", category="meta", handler=explode
        ),
        HttpRouteSpec(
            method="GET",
            path="/unavailable",
            name="unavailable",
            category="meta",
            handler=unavailable,
        ),
        HttpRouteSpec(
            method="GET", path="/blocking", name="blocking", category="meta", handler=blocking_sync
        ),
        HttpRouteSpec(
            method="GET", path="/release", name="release", category="meta", handler=release
        ),
        HttpRouteSpec(
            method="OPTIONS",
            path="/custom-options",
            name="custom_options",
            category="meta",
            handler=lambda: HttpResponseSpec(
                status_code=200, body="custom", headers={"Allow": "OPTIONS"}
            ),
        ),
    )

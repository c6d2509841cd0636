"""A small catalogue served over HTTP and gRPC from the same handlers."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from mic.contracts import StrictSchema
from mic.grpc import GrpcMethodSpec, GrpcServiceSpec
from mic.http import Header, HttpRequestContext, HttpRouteSpec
from mic.model import (
    ConflictError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    TransientError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Part(StrictSchema):
    sku: str
    count: int


class Item(StrictSchema):
    id: int
    name: str
    price: Decimal
    color: Color = Color.RED
    added: dt.datetime | None = None
    tags: list[str] = Field(default_factory=list)
    parts: list[Part] = Field(default_factory=list)
    stock: dict[str, int] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)


class NewItem(StrictSchema):
    name: str
    price: Decimal
    tags: list[str] = Field(default_factory=list)


ITEMS = {
    1: Item(
        id=1,
        name="lamp",
        price=Decimal("19.90"),
        color=Color.BLUE,
        added=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        tags=["home", "light"],
        parts=[Part(sku="bulb", count=2)],
        stock={"paris": 3},
        attributes={"watts": 40, "dimmable": True},
    ),
}
ERRORS: dict[str, DomainError] = {
    "bad": DomainError("bad_thing", "Bad thing", {"why": "because"}),
    "validation": ValidationFailedError("invalid_item", "Invalid", {"field": "name"}),
    "unauthorized": UnauthorizedError(message="Who are you"),
    "forbidden": ForbiddenError(message="No"),
    "missing": NotFoundError("item_not_found", "No such item", {"id": 9}),
    "conflict": ConflictError(message="Stale"),
    "too_large": PayloadTooLargeError(message="Too big"),
    "media": UnsupportedMediaTypeError(message="Media"),
    "rate": RateLimitedError(message="Slow down", retry_after=7),
    "transient": TransientError(message="Later"),
}


async def get_item(*, item_id: int) -> Item:
    item = ITEMS.get(item_id)
    if item is None:
        raise NotFoundError("item_not_found", f"No item {item_id}", {"id": item_id})
    return item


def create_item(*, payload: NewItem) -> Item:
    """A sync handler: it runs in a worker thread on both transports."""
    return Item(id=2, name=payload.name, price=payload.price, tags=payload.tags)


async def fail(*, kind: str) -> Item:
    if kind == "crash":
        raise RuntimeError("secret database password in this message")
    raise ERRORS[kind]


async def whoami(
    *, context: HttpRequestContext, x_tenant: Annotated[str, Header()] = "none"
) -> dict[str, Any]:
    identity = context.identity
    return {
        "subject": identity.subject if identity else None,
        "scopes": sorted(identity.scopes) if identity else [],
        "tenant": x_tenant,
        "correlation_id": context.correlation_id,
    }


async def count(*, upto: int) -> AsyncIterator[Part]:
    for number in range(upto):
        if number == 3:
            raise ConflictError("too_many", "Three is enough")
        yield Part(sku=f"p{number}", count=number)


class Gate:
    """A handler that waits until released: for deadlines and cancellation."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.release = asyncio.Event()

    async def wait(self, *, name: str) -> Part:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return Part(sku=name, count=0)


ROUTES = (
    HttpRouteSpec(
        method="GET",
        path="/items/{item_id}",
        name="items.get",
        category="items",
        handler=get_item,
        response_model=Item,
    ),
    HttpRouteSpec(
        method="POST",
        path="/items",
        name="items.create",
        category="items",
        handler=create_item,
        status_code=201,
        response_model=Item,
    ),
)


def catalogue(gate: Gate | None = None, wire: str = "protobuf") -> GrpcServiceSpec:
    methods = [
        GrpcMethodSpec.from_route(ROUTES[0], name="GetItem"),
        GrpcMethodSpec.from_route(ROUTES[1], name="CreateItem"),
        GrpcMethodSpec(name="Fail", handler=fail),
        GrpcMethodSpec(name="WhoAmI", handler=whoami, response_model=dict[str, Any]),
        GrpcMethodSpec(name="Count", handler=count),
        GrpcMethodSpec(name="Scoped", handler=get_item, scopes=("items:admin",)),
    ]
    if gate is not None:
        methods.append(GrpcMethodSpec(name="Wait", handler=gate.wait))
    return GrpcServiceSpec(
        name="Catalogue",
        package="shop.v1",
        methods=tuple(methods),
        wire=wire,  # type: ignore[arg-type]
        description="The shop's catalogue.",
    )

"""The AsyncAPI 3.0 builder: document shape, references and refused inputs."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

import mic.asyncapi
from mic.asyncapi import (
    AsyncApiChannel,
    AsyncApiError,
    AsyncApiMessage,
    AsyncApiOperation,
    AsyncApiServer,
    build_asyncapi,
    render_asyncapi,
)


class Item(BaseModel):
    id: int
    name: str


class ItemChanged(BaseModel):
    item: Item
    version: int


class Trace(BaseModel):
    traceparent: str


CHANGED = AsyncApiMessage(
    name="item.changed",
    payload=ItemChanged,
    headers=Trace,
    summary="An item changed",
    correlation_id="$message.header#/x-request-id",
)
ITEMS = AsyncApiChannel(
    key="items",
    address="items.{item_id}",
    messages=(CHANGED,),
    parameters={"item_id": "The item's id"},
    servers=("nats",),
    description="Item events",
)


def _document() -> dict[str, object]:
    return build_asyncapi(
        title="Items",
        version="1.2.0",
        description="Item service events",
        channels=[ITEMS],
        operations=[
            AsyncApiOperation(
                key="publishItemChanged", action="send", channel="items", security=("token",)
            ),
        ],
        servers=[AsyncApiServer(key="nats", host="127.0.0.1:4222", protocol="nats")],
        security_schemes={"token": {"type": "httpApiKey", "name": "Authorization", "in": "header"}},
    )


def test_public_surface_is_pinned() -> None:
    public = sorted(name for name in vars(mic.asyncapi) if not name.startswith("_"))
    assert sorted(mic.asyncapi.__all__) == [n for n in public if n not in {"mic"}]


def test_document_references_channel_messages_and_schemas() -> None:
    document = _document()
    assert "3.0.0" == document["asyncapi"]
    assert {"title": "Items", "version": "1.2.0", "description": "Item service events"} == (
        document["info"]
    )
    channel = document["channels"]["items"]  # type: ignore[index]
    assert {"item.changed": {"$ref": "#/components/messages/item.changed"}} == channel["messages"]
    assert [{"$ref": "#/servers/nats"}] == channel["servers"]
    operation = document["operations"]["publishItemChanged"]  # type: ignore[index]
    assert [{"$ref": "#/channels/items/messages/item.changed"}] == operation["messages"]
    assert [{"$ref": "#/components/securitySchemes/token"}] == operation["security"]
    components = document["components"]  # type: ignore[index]
    message = components["messages"]["item.changed"]
    assert {"$ref": "#/components/schemas/ItemChanged"} == message["payload"]
    assert {"$ref": "#/components/schemas/Trace"} == message["headers"]
    assert {"location": "$message.header#/x-request-id"} == message["correlationId"]
    assert ["Item", "ItemChanged", "Trace"] == sorted(components["schemas"])
    assert {"$ref": "#/components/schemas/Item"} == (
        components["schemas"]["ItemChanged"]["properties"]["item"]
    )


def test_every_reference_resolves() -> None:
    document = _document()

    def resolve(pointer: str) -> object:
        node: object = document
        for part in pointer.removeprefix("#/").split("/"):
            assert isinstance(node, dict), pointer
            node = node[part]
        return node

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


def test_render_is_stable_compact_json() -> None:
    first, second = render_asyncapi(_document()), render_asyncapi(_document())
    assert first == second
    assert json.loads(first) == _document()
    assert b": " not in first


def test_operation_without_messages_uses_all_and_reply_is_described() -> None:
    ack = AsyncApiMessage(name="ack", payload=Item)
    replies = AsyncApiChannel(key="replies", address=None, messages=(ack,), bindings={"ws": {}})
    document = build_asyncapi(
        title="t",
        version="1",
        channels=[replies],
        servers=[AsyncApiServer(key="ws", host="h", protocol="ws", pathname="/p")],
        operations=[
            AsyncApiOperation(
                key="ask",
                action="receive",
                channel="replies",
                reply_channel="replies",
                reply_messages=("ack",),
                bindings={"ws": {}},
            )
        ],
    )
    operation = document["operations"]["ask"]
    assert {
        "channel": {"$ref": "#/channels/replies"},
        "messages": [{"$ref": "#/channels/replies/messages/ack"}],
    } == operation["reply"]
    assert [{"$ref": "#/channels/replies/messages/ack"}] == operation["messages"]
    assert {"ws": {}} == operation["bindings"]
    assert {"ws": {}} == document["channels"]["replies"]["bindings"]
    assert document["channels"]["replies"]["address"] is None
    assert {"host": "h", "protocol": "ws", "pathname": "/p"} == document["servers"]["ws"]


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: AsyncApiMessage(name="bad name", payload=Item), "message key 'bad name'"),
        (lambda: AsyncApiChannel(key="c", address="a.{x}", messages=()), "placeholders"),
        (lambda: AsyncApiChannel(key="c", address="a", messages=(CHANGED, CHANGED)), "twice"),
        (
            lambda: AsyncApiOperation(key="o", action="publish", channel="c"),  # type: ignore[arg-type]
            "action must be",
        ),
        (
            lambda: AsyncApiOperation(key="o", action="send", channel="c", reply_messages=("x",)),
            "need a reply_channel",
        ),
        (lambda: AsyncApiServer(key="", host="h", protocol="nats"), "server key ''"),
    ],
)
def test_constructors_refuse_bad_values(build: object, match: str) -> None:
    with pytest.raises(AsyncApiError, match=match):
        build()  # type: ignore[operator]


def _build(**overrides: object) -> object:
    arguments: dict[str, object] = {
        "title": "t",
        "version": "1",
        "channels": [ITEMS],
        "servers": [AsyncApiServer(key="nats", host="h", protocol="nats")],
    }
    arguments.update(overrides)
    return build_asyncapi(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"channels": [ITEMS, ITEMS]}, "two channels share the key 'items'"),
        (
            {"operations": [AsyncApiOperation(key="o", action="send", channel="nope")]},
            "unknown channel 'nope'",
        ),
        (
            {
                "operations": [
                    AsyncApiOperation(key="o", action="send", channel="items", messages=("other",))
                ]
            },
            "has no message 'other'",
        ),
        (
            {
                "operations": [
                    AsyncApiOperation(key="o", action="send", channel="items", security=("jwt",))
                ]
            },
            "unknown security scheme 'jwt'",
        ),
        (
            {
                "operations": [
                    AsyncApiOperation(key="o", action="send", channel="items", reply_channel="nope")
                ]
            },
            "unknown reply channel",
        ),
        ({"servers": []}, "unknown server 'nats'"),
        (
            {"servers": [AsyncApiServer(key="nats", host="h", protocol="nats", security=("x",))]},
            "server 'nats' names unknown security scheme",
        ),
        (
            {
                "channels": [
                    ITEMS,
                    AsyncApiChannel(
                        key="other",
                        address="o",
                        messages=(AsyncApiMessage(name="item.changed", payload=Item),),
                    ),
                ]
            },
            "used for two different messages",
        ),
    ],
)
def test_build_refuses_inconsistent_documents(overrides: dict[str, object], match: str) -> None:
    with pytest.raises(AsyncApiError, match=match):
        _build(**overrides)


def test_same_message_on_two_channels_is_one_component() -> None:
    other = AsyncApiChannel(key="all", address="items.>", messages=(CHANGED,))
    document = _build(channels=[ITEMS, other])
    assert ["item.changed"] == list(document["components"]["messages"])  # type: ignore[index]


def test_channels_without_messages_have_no_schemas() -> None:
    empty = AsyncApiChannel(key="empty", address="e", messages=())
    document = build_asyncapi(title="t", version="1", channels=[empty])
    assert {"schemas": {}, "messages": {}} == document["components"]
    assert {} == document["operations"]

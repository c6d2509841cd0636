"""Event specs as an AsyncAPI 3.0 document, checked by shape and by the reference parser."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from mic.asyncapi import AsyncApiChannel, AsyncApiMessage, AsyncApiOperation, AsyncApiServer
from mic.eventbus import (
    Event,
    EventCatalog,
    EventEnvelope,
    EventSpec,
    build_event_asyncapi,
    spec_channels,
)
from tests.asyncapi_parser import parse_asyncapi


class Money(BaseModel):
    amount: int = Field(ge=0, description="Minor units")
    currency: str = Field(pattern="^[A-Z]{3}$")


class OrderPlaced(BaseModel):
    order_id: int
    total: Money


class OrderPlacedV2(BaseModel):
    order_id: str
    total: Money


class Tenant(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    tenant: str = Field(alias="x-tenant")


class Ping(BaseModel):
    at: float


PLACED = EventSpec("orders.placed", OrderPlaced, description="An order was placed", headers=Tenant)
PLACED_V2 = EventSpec("orders.placed", OrderPlacedV2, version=2, summary="Ids became strings")
SHIPPED = EventSpec("orders.shipped", OrderPlaced)

CATALOG = EventCatalog(
    title="Orders",
    version="2.1.0",
    description="Order events",
    publishes=[PLACED, PLACED_V2],
    subscribes=[SHIPPED, PLACED],
    servers=[AsyncApiServer(key="nats", host="nats.example.com:4222", protocol="nats")],
    channels=[
        AsyncApiChannel(
            key="live",
            address="/ws/live",
            messages=(AsyncApiMessage(name="ping", payload=Ping),),
        )
    ],
    operations=[AsyncApiOperation(key="send.ping", action="send", channel="live")],
)


def test_one_channel_per_topic_one_message_per_version() -> None:
    document = build_event_asyncapi(CATALOG)
    assert ["orders.placed", "orders.shipped", "live"] == list(document["channels"])
    placed = document["channels"]["orders.placed"]
    assert "orders.placed" == placed["address"]
    assert ["orders.placed.v1", "orders.placed.v2"] == list(placed["messages"])
    operations = document["operations"]
    expected = {"send.orders.placed", "receive.orders.placed", "receive.orders.shipped"}
    assert expected | {"send.ping"} == set(operations)
    assert "send" == operations["send.orders.placed"]["action"]
    assert 2 == len(operations["send.orders.placed"]["messages"])
    assert [{"$ref": "#/channels/orders.placed/messages/orders.placed.v1"}] == operations[
        "receive.orders.placed"
    ]["messages"]


def test_the_message_payload_is_the_envelope_on_the_wire() -> None:
    document = build_event_asyncapi(CATALOG)
    message = document["components"]["messages"]["orders.placed.v1"]
    assert {"location": "$message.payload#/correlation_id"} == message["correlationId"]
    assert "An order was placed" == message["description"]
    schemas = document["components"]["schemas"]
    envelope = schemas[message["payload"]["$ref"].rsplit("/", 1)[1]]
    assert set(Event("t").to_dict()) == set(envelope["properties"])
    assert "#/components/schemas/OrderPlaced" == envelope["properties"]["payload"]["$ref"]
    assert "#/components/schemas/Tenant" == envelope["properties"]["headers"]["$ref"]
    assert 0 == schemas["Money"]["properties"]["amount"]["minimum"]


def test_the_envelope_model_accepts_what_the_bus_sends() -> None:
    """The documented schema is the real wire format: a sent event validates against it."""
    event = PLACED.event(
        {"order_id": 1, "total": {"amount": 5, "currency": "EUR"}}, headers={"x-tenant": "t1"}
    )
    model: Any = EventEnvelope[OrderPlaced, Tenant]  # type: ignore[valid-type]
    parsed = model.model_validate(event.to_dict())
    assert 5 == parsed.payload.total.amount
    assert "t1" == parsed.headers.tenant
    assert event.payload == parsed.payload.model_dump()
    assert event.id == parsed.id


def test_two_different_specs_for_one_version_are_refused() -> None:
    clash = EventSpec("orders.placed", OrderPlacedV2)
    with pytest.raises(ValueError, match=r"two different specs for 'orders\.placed' version 1"):
        spec_channels([PLACED, clash])


def test_the_document_is_byte_stable() -> None:
    assert build_event_asyncapi(CATALOG) == build_event_asyncapi(CATALOG)


@pytest.mark.slow
def test_the_reference_parser_accepts_the_document() -> None:
    document = build_event_asyncapi(CATALOG)
    assert [] == parse_asyncapi(document)
    broken = {**document, "operations": {"bad": {"action": "publish", "channel": {}}}}
    assert parse_asyncapi(broken)  # the check can fail: a wrong action is reported

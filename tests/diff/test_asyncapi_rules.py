"""The AsyncAPI rules of `mic.diff`, on documents `mic.asyncapi.build_asyncapi` writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from mic.asyncapi import AsyncApiChannel, AsyncApiMessage, AsyncApiOperation, build_asyncapi
from mic.diff import diff_documents

Doc = dict[str, Any]


class OrderPlaced(BaseModel):
    """What the service publishes."""

    order_id: int
    total: float
    note: str | None = None


class PaymentReceived(BaseModel):
    """What the service consumes."""

    order_id: int
    amount: float


def base() -> Doc:
    placed = AsyncApiMessage("OrderPlaced", OrderPlaced)
    paid = AsyncApiMessage("PaymentReceived", PaymentReceived)
    return build_asyncapi(
        title="orders",
        version="1.0.0",
        channels=[
            AsyncApiChannel("orders", "orders.placed", (placed,)),
            AsyncApiChannel("payments", "payments.received", (paid,)),
            AsyncApiChannel("quotes", "quotes", (placed,)),
        ],
        operations=[
            AsyncApiOperation("publishOrder", "send", "orders"),
            AsyncApiOperation("handlePayment", "receive", "payments"),
            AsyncApiOperation("askQuote", "send", "quotes", reply_channel="payments"),
        ],
        security_schemes={
            "user": {"type": "userPassword"},
            "token": {"type": "httpApiKey", "name": "t", "in": "header"},
        },
    )


def schema(doc: Doc, name: str) -> Doc:
    return doc["components"]["schemas"][name]  # type: ignore[no-any-return]


def an_extra_message(doc: Doc, channel: str) -> None:
    doc["components"]["messages"]["Extra"] = {"name": "Extra", "payload": {"type": "object"}}
    doc["channels"][channel]["messages"]["Extra"] = {"$ref": "#/components/messages/Extra"}


Mutation = Callable[[Doc], object]

CASES: list[tuple[str, Mutation, str, bool]] = [
    ("operation removed", lambda d: d["operations"].pop("publishOrder"), "operation.removed", True),
    (
        "operation added",
        lambda d: d["operations"].update(
            more={"action": "send", "channel": {"$ref": "#/channels/orders"}}
        ),
        "operation.added",
        False,
    ),
    (
        "action flipped",
        lambda d: d["operations"]["publishOrder"].update(action="receive"),
        "operation.action-changed",
        True,
    ),
    ("channel removed", lambda d: d["channels"].pop("quotes"), "channel.removed", True),
    (
        "channel added",
        lambda d: d["channels"].update(audit={"address": "audit"}),
        "channel.added",
        False,
    ),
    (
        "address changed",
        lambda d: d["channels"]["orders"].update(address="orders.created"),
        "channel.address-changed",
        True,
    ),
    (
        "operation moved to another channel",
        lambda d: d["operations"]["publishOrder"].update(
            channel={"$ref": "#/channels/payments"}, messages=[]
        ),
        "operation.channel-changed",
        True,
    ),
    (
        "sent payload loses a field",
        lambda d: schema(d, "OrderPlaced")["properties"].pop("total"),
        "response.property.removed",
        True,
    ),
    (
        "sent payload gains a field",
        lambda d: schema(d, "OrderPlaced")["properties"].update(sku={"type": "string"}),
        "response.property.added",
        False,
    ),
    (
        "sent field becomes nullable",
        lambda d: schema(d, "OrderPlaced")["properties"].update(
            total={"anyOf": [{"type": "number"}, {"type": "null"}]}
        ),
        "response.type.widened",
        True,
    ),
    (
        "received payload gets a new required field",
        lambda d: (
            schema(d, "PaymentReceived")["properties"].update(currency={"type": "string"}),
            schema(d, "PaymentReceived")["required"].append("currency"),
        ),
        "request.property.required-added",
        True,
    ),
    (
        "received field narrowed",
        lambda d: schema(d, "PaymentReceived")["properties"]["amount"].update(type="integer"),
        "request.type.narrowed",
        True,
    ),
    (
        "received field widened",
        lambda d: schema(d, "PaymentReceived")["properties"]["order_id"].update(type="number"),
        "request.type.changed",
        False,
    ),
    (
        "sender gains a message",
        lambda d: (
            an_extra_message(d, "orders"),
            d["operations"]["publishOrder"]["messages"].append(
                {"$ref": "#/channels/orders/messages/Extra"}
            ),
        ),
        "message.added",
        True,
    ),
    (
        "receiver gains a message",
        lambda d: (
            an_extra_message(d, "payments"),
            d["operations"]["handlePayment"]["messages"].append(
                {"$ref": "#/channels/payments/messages/Extra"}
            ),
        ),
        "message.added",
        False,
    ),
    (
        "receiver loses a message",
        lambda d: d["operations"]["handlePayment"].update(messages=[]),
        "message.removed",
        True,
    ),
    (
        "sender loses a message",
        lambda d: d["operations"]["publishOrder"].update(messages=[]),
        "message.removed",
        False,
    ),
    (
        "content type changed",
        lambda d: d["components"]["messages"]["OrderPlaced"].update(contentType="application/avro"),
        "message.content-type-changed",
        True,
    ),
    (
        "security added",
        lambda d: d["operations"]["handlePayment"].update(
            security=[{"$ref": "#/components/securitySchemes/user"}]
        ),
        "security.added",
        True,
    ),
    ("reply removed", lambda d: d["operations"]["askQuote"].pop("reply"), "reply.removed", True),
    (
        "reply added",
        lambda d: d["operations"]["publishOrder"].update(
            reply={"channel": {"$ref": "#/channels/payments"}}
        ),
        "reply.added",
        False,
    ),
    (
        "reply payload narrowed (the requester receives it)",
        lambda d: schema(d, "PaymentReceived")["properties"]["amount"].update(type="integer"),
        "request.type.narrowed",
        True,
    ),
]


@pytest.mark.parametrize(("title", "mutate", "rule", "breaking"), CASES, ids=[c[0] for c in CASES])
def test_rule(title: str, mutate: Mutation, rule: str, breaking: bool) -> None:
    new = base()
    mutate(new)
    report = diff_documents(base(), new)
    assert "asyncapi" == report.kind
    matching = [change for change in report.changes if change.rule == rule]
    assert matching, report.render_text()
    assert breaking in {change.breaking for change in matching}, report.render_text()
    assert breaking == report.is_breaking, report.render_text()


def test_a_document_compared_with_itself_has_no_changes() -> None:
    assert () == diff_documents(base(), base()).changes


def test_a_reply_flows_the_other_way() -> None:
    old, new = base(), base()
    reply = {"channel": {"$ref": "#/channels/payments"}}
    old["operations"]["handlePayment"]["reply"] = dict(reply)
    new["operations"]["handlePayment"]["reply"] = dict(reply)
    schema(new, "PaymentReceived")["properties"].pop("amount")
    rules = {(c.location, c.rule, c.breaking) for c in diff_documents(old, new).changes}
    assert (
        "operation handlePayment reply message 'PaymentReceived' payload",
        "response.property.removed",
        True,
    ) in rules
    assert (
        "operation handlePayment message 'PaymentReceived' payload",
        "request.property.removed",
        False,
    ) in rules


def test_security_changes() -> None:
    old, new = base(), base()
    user = {"$ref": "#/components/securitySchemes/user"}
    old["operations"]["handlePayment"]["security"] = [user]
    new["operations"]["handlePayment"]["security"] = [
        {"$ref": "#/components/securitySchemes/token"}
    ]
    assert ["security.changed"] == [c.rule for c in diff_documents(old, new).breaking]
    new["operations"]["handlePayment"]["security"] = [{"type": "X509"}]
    assert ["security.changed"] == [c.rule for c in diff_documents(old, new).breaking]
    new["operations"]["handlePayment"].pop("security")
    (change,) = diff_documents(old, new).changes
    assert ("security.removed", False) == (change.rule, change.breaking)


def test_inline_messages_are_keyed_by_name() -> None:
    old, new = base(), base()
    for doc in (old, new):
        doc["operations"]["publishOrder"]["messages"] = [
            {"name": "Inline", "payload": {"type": "string"}},
            {"payload": {"type": "string"}},
        ]
    new["operations"]["publishOrder"]["messages"][0]["payload"] = {"type": ["string", "null"]}
    (change,) = diff_documents(old, new).changes
    assert ("operation publishOrder message 'Inline' payload", "response.type.widened") == (
        change.location,
        change.rule,
    )


def test_an_operation_without_a_message_list_uses_its_channels() -> None:
    old, new = base(), base()
    for doc in (old, new):
        doc["operations"]["handlePayment"].pop("messages")
    schema(new, "PaymentReceived")["properties"]["amount"]["type"] = "integer"
    assert {"request.type.narrowed"} == {c.rule for c in diff_documents(old, new).breaking}

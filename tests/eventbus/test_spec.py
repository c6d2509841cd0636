"""`EventSpec` on its own: building, parsing, headers, versions and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ConfigDict, Field

from mic.datastorage import InMemoryDataStorage
from mic.eventbus import (
    EVENT_VERSION_HEADER,
    Event,
    EventContractError,
    EventSpec,
    event_version,
)
from mic.outbox import InMemoryOutboxStore, NoUnitOfWorkError, TopicRedactionPolicy, redact_drop
from tests.outbox.models import Order


class Signup(BaseModel):
    user_id: int
    email: str
    plan: str = "free"


class Trace(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    tenant: str = Field(alias="x-tenant", min_length=1)


SIGNUP = EventSpec("users.signed-up", Signup, headers=Trace, description="A user signed up")


def test_event_carries_the_dumped_payload_and_the_version() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    event = SIGNUP.event(
        Signup(user_id=1, email="a@example.com"),
        headers={"x-tenant": "t1"},
        id="e-1",
        occurred_at=at,
        correlation_id="c-1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    assert {"user_id": 1, "email": "a@example.com", "plan": "free"} == event.payload
    assert {"x-tenant": "t1", EVENT_VERSION_HEADER: "1"} == dict(event.headers)
    assert ("e-1", at, "c-1") == (event.id, event.occurred_at, event.correlation_id)
    assert 1 == event_version(event)
    assert Signup(user_id=1, email="a@example.com") == SIGNUP.parse(event)
    assert "users.signed-up.v1" == SIGNUP.message_name


def test_a_mutated_model_instance_is_validated_again() -> None:
    signup = Signup(user_id=1, email="a@example.com")
    signup.user_id = "not a number"  # type: ignore[assignment]
    with pytest.raises(EventContractError, match="InvalidEventPayload: user_id: int_parsing"):
        SIGNUP.event(signup, headers={"x-tenant": "t"})


def test_headers_are_part_of_the_contract() -> None:
    with pytest.raises(EventContractError, match="InvalidEventHeaders: x-tenant: missing"):
        SIGNUP.event({"user_id": 1, "email": "e"})
    arrived = Event("users.signed-up", {"user_id": 1, "email": "e"}, headers={"x-tenant": ""})
    with pytest.raises(EventContractError, match="x-tenant: string_too_short") as caught:
        SIGNUP.parse(arrived)
    assert "InvalidEventHeaders" == caught.value.reason


def test_parse_refuses_another_topic_or_version() -> None:
    with pytest.raises(EventContractError, match="UnknownEventTopic"):
        SIGNUP.parse(Event("users.deleted", {}))
    v2 = Event("users.signed-up", {}, headers={EVENT_VERSION_HEADER: "2"})
    with pytest.raises(EventContractError, match="UnknownEventVersion: version 2, expected 1"):
        SIGNUP.parse(v2)


@pytest.mark.parametrize("raw", ["0", "-1", "one", "1.5", ""])
def test_a_malformed_version_header_is_an_unknown_version(raw: str) -> None:
    event = Event("users.signed-up", {}, headers={EVENT_VERSION_HEADER: raw})
    with pytest.raises(EventContractError, match="UnknownEventVersion: version header"):
        event_version(event)


def test_the_detail_is_bounded() -> None:
    error = EventContractError("InvalidEventPayload", "x" * 5000)
    assert 500 == len(error.detail)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"topic": "bad topic", "payload": Signup}, ValueError, "invalid topic"),
        ({"topic": "t", "payload": dict}, TypeError, "payload must be a pydantic model"),
        ({"topic": "t", "payload": Signup, "headers": str}, TypeError, "headers must be"),
        ({"topic": "t", "payload": Signup, "version": 0}, ValueError, "version must be >= 1"),
        ({"topic": "t", "payload": Signup, "version": True}, TypeError, "version must be an int"),
        ({"topic": "t", "payload": Signup, "version": "2"}, TypeError, "version must be an int"),
    ],
)
def test_bad_specs_are_refused(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        EventSpec(**kwargs)  # type: ignore[arg-type]


async def test_add_to_outbox_validates_before_storing() -> None:
    orders = InMemoryDataStorage(Order)
    store = InMemoryOutboxStore()
    async with orders.unit_of_work():
        stored = await SIGNUP.add_to_outbox(
            store, {"user_id": 1, "email": "a@example.com"}, headers={"x-tenant": "t"}
        )
        with pytest.raises(EventContractError, match="email: missing"):
            await SIGNUP.add_to_outbox(store, {"user_id": 2}, headers={"x-tenant": "t"})
    assert 1 == await store.pending_count()
    assert "1" == stored.headers[EVENT_VERSION_HEADER]
    with pytest.raises(NoUnitOfWorkError, match="unit_of_work"):
        await SIGNUP.add_to_outbox(store, {"user_id": 3, "email": "e"}, headers={"x-tenant": "t"})


async def test_a_redaction_that_breaks_the_contract_is_refused_before_storing() -> None:
    """Dropping a required field would dead-letter the event at every consumer."""
    store = InMemoryOutboxStore(redaction=TopicRedactionPolicy(default={"email": redact_drop}))
    async with InMemoryDataStorage(Order).unit_of_work():
        with pytest.raises(EventContractError, match="after the outbox's redaction: email"):
            await SIGNUP.add_to_outbox(
                store, {"user_id": 1, "email": "a@example.com"}, headers={"x-tenant": "t"}
            )
    assert 0 == await store.pending_count()

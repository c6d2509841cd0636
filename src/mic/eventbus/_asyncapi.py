"""Event specs as AsyncAPI 3.0: channels, messages and operations for `mic.asyncapi`.

What travels on every bus is the whole `Event` envelope as JSON, so a message's payload
schema is the envelope (`EventEnvelope`) with the spec's payload model inside: a consumer
written in another language reads exactly what it will receive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mic.asyncapi import (
    AsyncApiChannel,
    AsyncApiMessage,
    AsyncApiOperation,
    AsyncApiServer,
    build_asyncapi,
)
from mic.eventbus._spec import EventSpec

P = TypeVar("P", bound=BaseModel)
H = TypeVar("H")


class EventEnvelope(BaseModel, Generic[P, H]):
    """The JSON object every bus carries (`Event.to_dict`), typed by a spec."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Unique event id; consumers deduplicate on it.")
    topic: str = Field(description="The topic (channel address).")
    payload: P
    occurred_at: datetime = Field(description="When it happened (ISO 8601, with offset).")
    correlation_id: str | None = Field(description="Correlation id of the originating request.")
    traceparent: str | None = Field(description="W3C traceparent of the originating span.")
    headers: H


class _VersionHeader(BaseModel):
    """Headers of an event spec without an application header model."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    event_version: str = Field(
        alias="mic-event-version", description="The event spec version (a positive integer)."
    )


def _envelope(spec: EventSpec[Any]) -> type[BaseModel]:
    headers: Any = _VersionHeader if spec.headers is None else spec.headers
    model: type[BaseModel] = EventEnvelope[spec.payload, headers]  # type: ignore[name-defined]
    return model


def spec_message(spec: EventSpec[Any]) -> AsyncApiMessage:
    """The AsyncAPI message of `spec` (named ``<topic>.v<version>``)."""
    return AsyncApiMessage(
        name=spec.message_name,
        payload=_envelope(spec),
        title=f"{spec.payload.__name__} v{spec.version}",
        summary=spec.summary,
        description=spec.description,
        correlation_id="$message.payload#/correlation_id",
    )


def spec_channels(specs: Iterable[EventSpec[Any]]) -> list[AsyncApiChannel]:
    """One channel per topic, carrying a message per version of its specs.

    Raises:
        ValueError: Two different specs for the same topic and version.
    """
    by_topic: dict[str, dict[int, EventSpec[Any]]] = {}
    for spec in specs:
        known = by_topic.setdefault(spec.topic, {}).setdefault(spec.version, spec)
        if known != spec:
            raise ValueError(f"two different specs for {spec.topic!r} version {spec.version}")
    return [
        AsyncApiChannel(
            key=topic,
            address=topic,
            messages=tuple(spec_message(versions[v]) for v in sorted(versions)),
            description=versions[max(versions)].description,
        )
        for topic, versions in sorted(by_topic.items())
    ]


@dataclass(frozen=True, slots=True)
class EventCatalog:
    """What a service sends and receives: the input of its AsyncAPI document.

    Attributes:
        title: The service's title (``info.title``).
        version: The service's version (``info.version``).
        publishes: Specs the service publishes (AsyncAPI ``send`` operations).
        subscribes: Specs the service consumes (``receive`` operations).
        servers: Brokers the channels live on.
        description: ``info.description``.
    """

    title: str
    version: str
    publishes: Sequence[EventSpec[Any]] = ()
    subscribes: Sequence[EventSpec[Any]] = ()
    servers: Sequence[AsyncApiServer] = ()
    description: str | None = None
    channels: Sequence[AsyncApiChannel] = field(default=())
    """Further channels (WebSocket routes of `mic.realtime`) to document beside the events."""
    operations: Sequence[AsyncApiOperation] = field(default=())
    """The operations on those further channels."""


def _operations(action: str, specs: Sequence[EventSpec[Any]]) -> list[AsyncApiOperation]:
    topics: dict[str, list[str]] = {}
    for spec in specs:
        names = topics.setdefault(spec.topic, [])
        if spec.message_name not in names:
            names.append(spec.message_name)
    return [
        AsyncApiOperation(
            key=f"{action}.{topic}",
            action="send" if action == "send" else "receive",
            channel=topic,
            messages=tuple(names),
        )
        for topic, names in sorted(topics.items())
    ]


def build_event_asyncapi(catalog: EventCatalog) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of `catalog` (what ``mic asyncapi`` exports).

    Raises:
        ValueError: Two different specs for one topic and version.
        AsyncApiError: The further channels or operations clash with the event channels.
    """
    specs = [*catalog.publishes, *catalog.subscribes]
    channels = [*spec_channels(specs), *catalog.channels]
    operations = [
        *_operations("send", catalog.publishes),
        *_operations("receive", catalog.subscribes),
        *catalog.operations,
    ]
    return build_asyncapi(
        title=catalog.title,
        version=catalog.version,
        description=catalog.description,
        channels=channels,
        operations=operations,
        servers=catalog.servers,
    )

"""`EventSpec`: the contract of one event (topic, payload model, version, headers).

A spec builds events whose payload was validated against its pydantic model before they
leave the process (`EventSpec.event`, `publish`, `add_to_outbox`), and reads events back
into that model on arrival (`EventSpec.parse`). A consumer subscribed with specs never sees
a payload that breaks the contract: `mic.eventbus._contracts` dead-letters it instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from mic._errors import MicError
from mic.eventbus._event import Event, check_topic

if TYPE_CHECKING:
    from mic.eventbus._base import EventBus
    from mic.outbox import OutboxStore

PayloadT = TypeVar("PayloadT", bound=BaseModel)

EVENT_VERSION_HEADER = "mic-event-version"
"""The header carrying the version of the spec an event was built with."""

_MAX_DETAIL = 500


class EventContractError(MicError, ValueError):
    """An event does not match its `EventSpec`.

    Attributes:
        reason: ``InvalidEventPayload``, ``InvalidEventHeaders`` or ``UnknownEventVersion``
            (the dead-letter reason of a refused delivery).
        detail: Where and why (field locations and error types, never the values, which
            may be personal data).
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail[:_MAX_DETAIL]


def _describe(error: ValidationError) -> str:
    """Locations and error types of a validation error, without the input values."""
    parts = [
        f"{'.'.join(str(part) for part in item['loc']) or '(root)'}: {item['type']}"
        for item in error.errors(include_url=False, include_input=False)
    ]
    return "; ".join(parts)


def event_version(event: Event) -> int | None:
    """The spec version `event` carries, or ``None`` without the header.

    Raises:
        EventContractError: The header is not a positive integer.
    """
    raw = event.headers.get(EVENT_VERSION_HEADER)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise EventContractError("UnknownEventVersion", f"version header {raw[:20]!r}")
    return int(raw)


@dataclass(frozen=True, slots=True)
class EventSpec(Generic[PayloadT]):
    """The contract of one event: where it goes and what it carries.

    Attributes:
        topic: The topic (see `check_topic`).
        payload: The pydantic model of the payload; it must dump to JSON-safe data.
        version: Version of this contract (>= 1), sent in the ``mic-event-version`` header.
            A breaking change gets a new version; a consumer subscribes to the versions it
            understands and dead-letters the others (``UnknownEventVersion``).
        description: What the event means (CommonMark), shown in AsyncAPI.
        summary: One line for AsyncAPI.
        headers: Optional pydantic model of the required application headers (string
            values); validated on publish and arrival like the payload.

    Raises:
        ValueError: An invalid topic or a version below 1.
        TypeError: `payload` or `headers` is not a pydantic model class.
    """

    topic: str
    payload: type[PayloadT]
    version: int = 1
    description: str | None = None
    summary: str | None = None
    headers: type[BaseModel] | None = None

    def __post_init__(self) -> None:
        check_topic(self.topic)
        for name in ("payload", "headers"):
            model = getattr(self, name)
            if name == "headers" and model is None:
                continue
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise TypeError(f"{name} must be a pydantic model class, not {model!r}")
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise TypeError(f"version must be an int, not {type(self.version).__name__}")
        if self.version < 1:
            raise ValueError("version must be >= 1")

    @property
    def message_name(self) -> str:
        """The message's name in AsyncAPI: ``<topic>.v<version>``."""
        return f"{self.topic}.v{self.version}"

    def event(
        self,
        payload: PayloadT | Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        id: str | None = None,
        occurred_at: datetime | None = None,
        correlation_id: str | None = None,
        traceparent: str | None = None,
    ) -> Event:
        """An `Event` of this spec, its payload and headers validated first.

        Args:
            payload: A model instance (validated again: models are mutable) or a mapping.
            headers: Application headers (validated against `headers` when set).
            id: Event id (default random).
            occurred_at: Default now.
            correlation_id: Default `mic.context.correlation_id`.
            traceparent: Default `mic.context.traceparent`.

        Raises:
            EventContractError: The payload or headers do not match the spec.
            TypeError: A value `Event` refuses (a payload that is not JSON-safe).
        """
        model = self._validate_payload(payload)
        data = model.model_dump(mode="json")
        given = dict(headers or {})
        self._validate_headers(given)
        given[EVENT_VERSION_HEADER] = str(self.version)
        fields: dict[str, Any] = {
            "headers": given,
            "correlation_id": correlation_id,
            "traceparent": traceparent,
        }
        if id is not None:
            fields["id"] = id
        if occurred_at is not None:
            fields["occurred_at"] = occurred_at
        return Event(self.topic, data, **fields)

    def _validate_payload(self, payload: PayloadT | Mapping[str, Any]) -> PayloadT:
        # A model instance is mutable (and may be built with `model_construct`): check it
        # again; `warnings=False` because a wrong type is reported by validation below.
        source = payload.model_dump(warnings=False) if isinstance(payload, BaseModel) else payload
        try:
            return self.payload.model_validate(source)
        except ValidationError as error:
            raise EventContractError("InvalidEventPayload", _describe(error)) from None

    def _validate_headers(self, headers: Mapping[str, str]) -> None:
        if self.headers is None:
            return
        try:
            self.headers.model_validate(headers)
        except ValidationError as error:
            raise EventContractError("InvalidEventHeaders", _describe(error)) from None

    def parse(self, event: Event) -> PayloadT:
        """The payload of `event` as this spec's model.

        An event without a version header counts as version 1 (events published before
        the topic had a spec).

        Raises:
            EventContractError: Another topic or version, or a payload or headers that do
                not match.
        """
        if event.topic != self.topic:
            raise EventContractError("UnknownEventTopic", f"topic {event.topic!r}")
        version = event_version(event) or 1
        if version != self.version:
            raise EventContractError(
                "UnknownEventVersion", f"version {version}, expected {self.version}"
            )
        self._validate_headers(event.headers)
        return self._validate_payload(event.payload)

    async def publish(
        self, bus: EventBus, payload: PayloadT | Mapping[str, Any], **fields: Any
    ) -> Event:
        """Validate, publish on `bus` and return the event sent.

        Args:
            bus: The bus.
            payload: See `event`.
            fields: Other arguments of `event` (``headers``, ``id``, ...).

        Raises:
            EventContractError: The payload or headers do not match (nothing is sent).
            TransientError: The bus is not reachable.
        """
        event = self.event(payload, **fields)
        await bus.publish(event)
        return event

    async def add_to_outbox(
        self, store: OutboxStore, payload: PayloadT | Mapping[str, Any], **fields: Any
    ) -> Event:
        """Validate, then store in `store` inside the current unit of work.

        The event is checked again after the store's redaction: a policy that drops or
        hashes a field the contract requires is refused here, not by every consumer later.

        Returns:
            The event as stored (redacted).

        Raises:
            EventContractError: The payload or headers do not match, before or after
                redaction (nothing is stored).
            NoUnitOfWorkError: No unit of work of the store's backend is open.
        """
        event = self.event(payload, **fields)
        redacted = store.redact(event)
        try:
            self.parse(redacted)
        except EventContractError as error:
            raise EventContractError(
                error.reason, f"after the outbox's redaction: {error.detail}"
            ) from None
        return await store.add(event)


@dataclass(frozen=True, slots=True)
class ReceivedEvent(Generic[PayloadT]):
    """One event delivered to a handler subscribed with an `EventSpec`.

    Attributes:
        payload: The validated payload.
        event: The envelope (id, time, correlation id, headers).
        spec: The spec it matched (tells versions apart when a handler takes several).
    """

    payload: PayloadT
    event: Event
    spec: EventSpec[PayloadT]

    @property
    def id(self) -> str:
        """The event id (the inbox and idempotent handlers key on it)."""
        return self.event.id

"""The handler `EventBus.subscribe` runs when given event specs or an inbox.

It validates each delivery against the subscribed specs before the user's handler sees it
(a mismatch is dead-lettered at once with its reason, and acknowledged: retrying a payload
of the wrong shape can only fail again) and, with an inbox, runs the handler at most once
per event id and consumer group.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from mic.eventbus._event import Event, dead_letter_topic
from mic.eventbus._spec import EventContractError, EventSpec, ReceivedEvent, event_version

if TYPE_CHECKING:
    from mic.eventbus._base import EventBus, Handler, SubscriptionOptions
    from mic.inbox import Inbox

ContractHandler = Callable[[ReceivedEvent[Any]], Awaitable[None]]
"""An async callable receiving a validated `ReceivedEvent`."""

DEAD_LETTER_DETAIL = "mic-dead-letter-detail"
"""Dead-letter header saying which fields broke the contract (locations and types only)."""

_Specs = dict[str, dict[int, EventSpec[Any]]]


def index_specs(specs: Sequence[object]) -> _Specs:
    """Specs by topic, then by version.

    Raises:
        TypeError: Specs mixed with topic names.
        ValueError: Two specs for the same topic and version.
    """
    index: _Specs = {}
    for spec in specs:
        if not isinstance(spec, EventSpec):
            raise TypeError("subscribe takes topic names or event specs, not a mix of both")
        versions = index.setdefault(spec.topic, {})
        if spec.version in versions:
            raise ValueError(f"two specs for {spec.topic!r} version {spec.version}")
        versions[spec.version] = spec
    return index


def match(index: _Specs, event: Event) -> ReceivedEvent[Any]:
    """The delivery as a `ReceivedEvent` of the spec it matches.

    Raises:
        EventContractError: No subscribed spec has the event's version, or the payload or
            headers do not match that spec.
    """
    versions = index.get(event.topic, {})
    version = event_version(event) or 1
    spec = versions.get(version)
    if spec is None:
        known = ", ".join(str(v) for v in sorted(versions)) or "none"
        raise EventContractError(
            "UnknownEventVersion", f"version {version}; this consumer reads {known}"
        )
    return ReceivedEvent(spec.parse(event), event, spec)


def contract_handler(
    bus: EventBus,
    topics: str | Sequence[str] | EventSpec[Any] | Sequence[EventSpec[Any]],
    handler: Handler | ContractHandler,
    *,
    group: str,
    options: SubscriptionOptions,
    inbox: Inbox | None,
) -> tuple[tuple[str, ...], Handler]:
    """The topic names and the delivery handler for a subscription with specs or an inbox."""
    items: Sequence[object] = (topics,) if isinstance(topics, str | EventSpec) else tuple(topics)
    if not any(isinstance(item, EventSpec) for item in items):
        plain = cast("Handler", handler)
        names = tuple(cast("Sequence[str]", items))
        return names, plain if inbox is None else _inboxed(inbox, group, plain)
    index = index_specs(items)
    typed = cast("ContractHandler", handler)

    async def deliver(event: Event) -> None:
        try:
            received = match(index, event)
        except EventContractError as error:
            await refuse(bus, event, group, error, options)
            return
        if inbox is None:
            await typed(received)
            return
        await inbox.process(event, group, lambda: typed(received))

    return tuple(index), deliver


def _inboxed(inbox: Inbox, group: str, handler: Handler) -> Handler:
    async def deliver(event: Event) -> None:
        await inbox.process(event, group, lambda: handler(event))

    return deliver


async def refuse(
    bus: EventBus,
    event: Event,
    group: str,
    error: EventContractError,
    options: SubscriptionOptions,
) -> None:
    """Dead-letter `event` for breaking its contract (or raise to retry without dead letters).

    Raises:
        EventContractError: ``dead_letter=False``: the event is retried like a failure.
        TransientError: Publishing the dead letter failed (the event is retried).
    """
    from mic.eventbus._base import (
        DEAD_LETTER_ATTEMPTS,
        DEAD_LETTER_GROUP,
        DEAD_LETTER_REASON,
        DEAD_LETTER_TOPIC,
        logger,
    )

    if not options.dead_letter:
        raise error
    logger.warning("event %s on %s breaks its contract: %s", event.id, event.topic, error.reason)
    headers = {
        **event.headers,
        DEAD_LETTER_TOPIC: event.topic,
        DEAD_LETTER_GROUP: group,
        DEAD_LETTER_REASON: error.reason,
        DEAD_LETTER_DETAIL: error.detail,
        DEAD_LETTER_ATTEMPTS: "1",
    }
    await bus.publish(
        Event(
            topic=dead_letter_topic(event.topic),
            payload=event.payload,
            id=event.id,
            occurred_at=event.occurred_at,
            correlation_id=event.correlation_id,
            traceparent=event.traceparent,
            headers=headers,
        )
    )

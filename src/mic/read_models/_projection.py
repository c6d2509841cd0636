"""`ProjectionRunner`: feeds read models from event specs, through an inbox, live or replayed.

Live, it subscribes once to every projected spec with the inbox, so a redelivered event is
not applied twice. `rebuild` starts from scratch: it clears the read models, forgets the
group's inbox ids and replays a history of events through the same projections.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mic.eventbus import (
    Event,
    EventBus,
    EventContractError,
    EventSpec,
    ReceivedEvent,
    Subscription,
    SubscriptionOptions,
)
from mic.eventbus._contracts import index_specs, match
from mic.read_models._base import ReadModel

if TYPE_CHECKING:
    from mic.inbox import Inbox

Apply = Callable[[ReceivedEvent[Any]], Awaitable[None]]
"""A projection step: update read models from one validated event."""


@dataclass(frozen=True, slots=True)
class Projection:
    """How one event spec changes the read models.

    Attributes:
        spec: The events projected.
        apply: Updates the read models; raising means "retry the event".
    """

    spec: EventSpec[Any]
    apply: Apply

    def __post_init__(self) -> None:
        if not isinstance(self.spec, EventSpec):
            raise TypeError(f"spec must be an EventSpec, not {type(self.spec).__name__}")
        if not callable(self.apply):
            raise TypeError("apply must be an async callable")


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """What `ProjectionRunner.rebuild` did.

    Attributes:
        applied: Events applied.
        skipped: Events of other topics, or duplicates of an event already applied.
        refused: Events that broke their contract (not applied, as a live consumer would
            have dead-lettered them).
        cleared: Keys deleted from the read models first.
    """

    applied: int
    skipped: int
    refused: int
    cleared: int


class ProjectionRunner:
    """Keeps read models up to date from events, exactly once per event through an inbox.

    Args:
        bus: Where live events come from.
        projections: The projection of each spec (several may share one spec).
        read_models: Every read model the projections write (cleared by `rebuild`).
        inbox: Records applied event ids; use one whose records live next to the read
            models' writes for exactly-once effects (see docs/read-models.md).
        group: Consumer group of the live subscription, and the inbox's key.
        options: Subscription options (default: the bus's).

    Raises:
        ValueError: No projection, or an invalid group.
    """

    def __init__(
        self,
        bus: EventBus,
        projections: Sequence[Projection],
        *,
        read_models: Sequence[ReadModel],
        inbox: Inbox,
        group: str,
        options: SubscriptionOptions | None = None,
    ) -> None:
        if not projections:
            raise ValueError("a projection runner needs at least one projection")
        from mic.eventbus._base import check_group

        self.bus = bus
        self.projections = tuple(projections)
        self.read_models = tuple(read_models)
        self.inbox = inbox
        self.group = check_group(group)
        self.options = options
        self._steps: dict[tuple[str, int], list[Apply]] = {}
        for projection in self.projections:
            key = (projection.spec.topic, projection.spec.version)
            self._steps.setdefault(key, []).append(projection.apply)
        specs = {(p.spec.topic, p.spec.version): p.spec for p in self.projections}
        self.specs = tuple(specs.values())
        self._index = index_specs(self.specs)
        self._subscription: Subscription | None = None

    async def _apply(self, received: ReceivedEvent[Any]) -> None:
        for step in self._steps[(received.spec.topic, received.spec.version)]:
            await step(received)

    @property
    def running(self) -> bool:
        """Whether the live subscription is open."""
        return self._subscription is not None and not self._subscription.closed

    async def start(self) -> Subscription:
        """Subscribe to every projected spec with the inbox; events flow until `stop`.

        Raises:
            RuntimeError: Already running.
        """
        if self.running:
            raise RuntimeError("the projection runner is already running")
        self._subscription = await self.bus.subscribe(
            list(self.specs),
            self._apply,
            group=self.group,
            options=self.options,
            inbox=self.inbox,
        )
        return self._subscription

    async def stop(self) -> None:
        """Close the live subscription (gracefully). Idempotent."""
        if self._subscription is not None:
            await self._subscription.close()

    async def rebuild(self, history: Iterable[Event] | AsyncIterable[Event]) -> RebuildReport:
        """Clear the read models and the group's inbox ids, then replay `history` in order.

        Events are validated like live ones; those that break their contract are counted
        and left out. Stop the live subscription first (and start it again afterwards):
        a live event applied during the rebuild could be cleared or applied twice.

        Raises:
            RuntimeError: The live subscription is running.
            Exception: Whatever a projection raised (the rebuild stops there; run it again).
        """
        if self.running:
            raise RuntimeError("stop the projection runner before rebuilding")
        cleared = 0
        for model in self.read_models:
            cleared += await model.clear()
        await self.inbox.forget_group(self.group)
        applied = skipped = refused = 0
        async for event in _iterate(history):
            if event.topic not in self._index:
                skipped += 1
                continue
            try:
                received = match(self._index, event)
            except EventContractError:
                refused += 1
                continue
            if await self.inbox.process(
                event, self.group, functools.partial(self._apply, received)
            ):
                applied += 1
            else:
                skipped += 1
        return RebuildReport(applied, skipped, refused, cleared)


async def _iterate(history: Iterable[Event] | AsyncIterable[Event]) -> AsyncIterable[Event]:
    if isinstance(history, AsyncIterable):
        async for event in history:
            yield event
    else:
        for event in history:
            yield event

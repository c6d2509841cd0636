"""Test doubles that are real backends: a recording event bus, a clock you move by hand."""

from __future__ import annotations

from typing import Any

from mic.eventbus import Event, InMemoryEventBus


class RecordingEventBus(InMemoryEventBus):
    """An `InMemoryEventBus` that also keeps every published event, in order.

    Subscribers still receive the events: it is the real in-memory bus, with a memory.

    Attributes:
        published: Every event published so far.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.published: list[Event] = []

    async def publish(self, event: Event) -> None:
        """Publish `event` and record it."""
        await super().publish(event)
        self.published.append(event)

    def topics(self) -> list[str]:
        """The topics of the published events, in order."""
        return [event.topic for event in self.published]


class FrozenClock:
    """A clock that only moves when told to; pass it as any backend's ``clock=``.

    Args:
        start: The time it shows first (seconds; ``time.time()``-like or monotonic).
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def __repr__(self) -> str:
        return f"FrozenClock({self.now})"

    def advance(self, seconds: float) -> None:
        """Move the clock forward.

        Raises:
            ValueError: `seconds` is negative (time does not go back).
        """
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        self.now += seconds

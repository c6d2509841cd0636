"""The `RealtimeBackend` contract and `InMemoryRealtimeBackend`, its one-process implementation.

A backend carries room broadcasts between worker processes: every hub subscribed to a room
gets every message published to it after the subscription, once, in publish order, with an
id that orders messages within the room and lets a client resume (`history`).
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RoomMessage:
    """One broadcast, as the backend stores it.

    Attributes:
        room: The room name.
        id: ``"<int>-<int>"``, increasing within the room (a Redis stream id).
        data: The message, already encoded as JSON text.
    """

    room: str
    id: str
    data: str


Deliver = Callable[[RoomMessage], None]
"""Called in the event loop for each message of a subscribed room; must not block."""


def message_id_key(message_id: str) -> tuple[int, int]:
    """Sort key of a message id; ``ValueError`` when it is not ``"<int>-<int>"``."""
    first, _, second = message_id.partition("-")
    if not (first.isascii() and first.isdigit() and second.isascii() and second.isdigit()):
        raise ValueError(f"message id {message_id!r} is not '<int>-<int>'")
    return int(first), int(second)


class RealtimeBackend(ABC):
    """Fan-out of room broadcasts across processes, optional history, and presence.

    Every method is a coroutine and safe to call concurrently from one event loop.
    """

    @abstractmethod
    async def publish(self, room: str, data: str) -> str:
        """Broadcast `data` (JSON text) to `room`; return the message id.

        Raises:
            TransientError: The backend cannot be reached.
        """

    @abstractmethod
    async def subscribe(self, room: str, deliver: Deliver) -> None:
        """Call `deliver` for every message published to `room` after this call returns."""

    @abstractmethod
    async def unsubscribe(self, room: str, deliver: Deliver) -> None:
        """Stop calling `deliver` for `room` (nothing happens if it was not subscribed)."""

    @abstractmethod
    async def history(self, room: str, after: str, limit: int) -> list[RoomMessage]:
        """Up to `limit` kept messages of `room` with an id greater than `after`, oldest first.

        Raises:
            ValueError: `after` is not a message id.
        """

    @abstractmethod
    async def add_member(self, room: str, member: str) -> None:
        """Record `member` (one connection) as present in `room`."""

    @abstractmethod
    async def remove_member(self, room: str, member: str) -> None:
        """Forget `member` in `room`."""

    @abstractmethod
    async def members(self, room: str) -> list[str]:
        """Members present in `room`, sorted."""

    async def refresh_members(self, members: dict[str, set[str]]) -> None:  # noqa: B027
        """Extend the presence of these members (by room); backends with expiry override it."""

    async def close(self) -> None:  # noqa: B027 - optional hook with nothing to do by default
        """Release connections the backend owns."""

    probe_name = "realtime"
    """Key of this backend in the readiness answer (``mic.healthcheck.ping_probe``)."""

    async def ping(self) -> None:  # noqa: B027 - in-process backends always answer
        """Return when the backend can serve (always, in-process); raise when it cannot."""


class InMemoryRealtimeBackend(RealtimeBackend):
    """A complete backend for one process: fan-out, bounded history and presence.

    Args:
        max_length: Messages kept per room for replay (oldest dropped first).

    Raises:
        ValueError: A `max_length` below 1.
    """

    def __init__(self, *, max_length: int = 10_000) -> None:
        if max_length < 1:
            raise ValueError("max_length must be >= 1")
        self.max_length = max_length
        self._sequence = itertools.count(1)
        self._history: dict[str, deque[RoomMessage]] = {}
        self._subscribers: dict[str, list[Deliver]] = {}
        self._members: dict[str, set[str]] = {}

    async def publish(self, room: str, data: str) -> str:
        """Keep the message and deliver it to every subscriber of `room`, in order."""
        message = RoomMessage(room, f"{next(self._sequence)}-0", data)
        kept = self._history.setdefault(room, deque(maxlen=self.max_length))
        kept.append(message)
        for deliver in tuple(self._subscribers.get(room, ())):
            deliver(message)
        return message.id

    async def subscribe(self, room: str, deliver: Deliver) -> None:
        """Deliver later messages of `room` to `deliver`."""
        self._subscribers.setdefault(room, []).append(deliver)

    async def unsubscribe(self, room: str, deliver: Deliver) -> None:
        """Stop delivering `room` to `deliver`."""
        subscribers = self._subscribers.get(room, [])
        if deliver in subscribers:
            subscribers.remove(deliver)
        if not subscribers:
            self._subscribers.pop(room, None)

    async def history(self, room: str, after: str, limit: int) -> list[RoomMessage]:
        """Kept messages after `after`, oldest first."""
        start = message_id_key(after)
        kept = self._history.get(room, ())
        return [m for m in kept if message_id_key(m.id) > start][:limit]

    async def add_member(self, room: str, member: str) -> None:
        """Record `member` in `room`."""
        self._members.setdefault(room, set()).add(member)

    async def remove_member(self, room: str, member: str) -> None:
        """Forget `member` in `room`."""
        present = self._members.get(room, set())
        present.discard(member)
        if not present:
            self._members.pop(room, None)

    async def members(self, room: str) -> list[str]:
        """Members of `room`, sorted."""
        return sorted(self._members.get(room, ()))

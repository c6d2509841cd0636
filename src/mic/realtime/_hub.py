"""`RealtimeHub`: the per-process side of rooms, between a backend and local connections.

A hub subscribes to a room in its backend once, however many local connections joined it,
encodes each broadcast once and queues it to every local member. It counts connections and
frames, and closes every connection with 1001 when the process shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from typing import Any, Final

from pydantic import BaseModel

from mic.observability import MetricsBackend
from mic.realtime._backend import InMemoryRealtimeBackend, RealtimeBackend, RoomMessage
from mic.realtime._connection import WebSocketConnection
from mic.realtime._protocol import CloseCode, encode_room
from mic.realtime._specs import Room, check_room_name

logger = logging.getLogger("mic.realtime")

CONNECTIONS: Final = "realtime_connections"
CONNECTIONS_TOTAL: Final = "realtime_connections_total"
FRAMES_RECEIVED: Final = "realtime_frames_received_total"
FRAMES_SENT: Final = "realtime_frames_sent_total"
FRAMES_DROPPED: Final = "realtime_frames_dropped_total"
DISCONNECTS: Final = "realtime_disconnects_total"


class _NoMetrics(MetricsBackend):
    def increment(
        self, name: str, value: float = 1.0, *, labels: Mapping[str, str] | None = None
    ) -> None:
        """Record nothing."""

    def set_gauge(
        self, name: str, value: float, *, labels: Mapping[str, str] | None = None
    ) -> None:
        """Record nothing."""

    def observe(self, name: str, value: float, *, labels: Mapping[str, str] | None = None) -> None:
        """Record nothing."""


class RealtimeHub:
    """Rooms and connections of one process; register it as a router service.

    ``HttpRouterConfig(services={RealtimeHub: hub})`` lets the WebSocket routes find it;
    HTTP handlers and jobs call `publish` on the same object.

    Args:
        backend: Fan-out between workers (`InMemoryRealtimeBackend` for one process).
        metrics: Where to count connections and frames (``realtime_*`` series, labelled by
            route); nothing is recorded when ``None``.

    Not thread-safe: use it from the event loop that serves the app.
    """

    def __init__(
        self, backend: RealtimeBackend | None = None, *, metrics: MetricsBackend | None = None
    ) -> None:
        self.backend = backend if backend is not None else InMemoryRealtimeBackend()
        self.metrics = metrics if metrics is not None else _NoMetrics()
        self.closing = False
        self._connections: set[WebSocketConnection] = set()
        self._rooms: dict[str, set[WebSocketConnection]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._presence: asyncio.Task[None] | None = None
        self._presence_interval: float | None = getattr(self.backend, "presence_ttl", None)
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def connections(self) -> frozenset[WebSocketConnection]:
        """The open connections of this process."""
        return frozenset(self._connections)

    def local_members(self, room: str) -> frozenset[WebSocketConnection]:
        """Connections of this process in `room`."""
        return frozenset(self._rooms.get(room, ()))

    async def publish(self, room: Room | str, message: BaseModel, **params: Any) -> str:
        """Broadcast `message` to every member of `room`, in every worker; return its id.

        Args:
            room: A `Room` (then `params` fill its template and `message` must be its
                model) or a concrete room name.
            message: The message.
            **params: The room template's parameters.

        Raises:
            TypeError: `message` is not the room's model (or not a pydantic model).
            ValueError: Bad room parameters or name.
            TransientError: The backend cannot be reached.
        """
        if isinstance(room, Room):
            if not isinstance(message, room.message):
                raise TypeError(
                    f"room {room.template!r} carries {room.message.__name__}, "
                    f"not {type(message).__name__}"
                )
            name = room.name(**params)
        else:
            if params:
                raise ValueError("parameters are only for a Room template")
            if not isinstance(message, BaseModel):
                raise TypeError("a broadcast must be a pydantic model")
            name = check_room_name(room)
        return await self.backend.publish(name, message.model_dump_json())

    async def members(self, room: str) -> list[str]:
        """Subjects present in `room` across workers (``anonymous`` for public routes)."""
        entries = await self.backend.members(check_room_name(room))
        return sorted({entry.rpartition("#")[0] for entry in entries})

    @staticmethod
    def room_frame(message: RoomMessage) -> str:
        """The frame clients receive for a broadcast."""
        return encode_room(message.room, message.id, message.data)

    def _deliver(self, message: RoomMessage) -> None:
        members = self._rooms.get(message.room)
        if not members:
            return
        frame = encode_room(message.room, message.id, message.data)
        for connection in tuple(members):
            connection.offer_room(message.room, message.id, frame)

    async def attach(self, connection: WebSocketConnection, room: str) -> None:
        """Add `connection` to `room` (subscribing the backend on the first local member)."""
        members = self._rooms.get(room)
        if members is None:
            members = self._rooms[room] = set()
            await self.backend.subscribe(room, self._deliver)
        members.add(connection)
        await self.backend.add_member(room, connection.member)
        if self._presence_interval is not None and self._presence is None:
            self._presence = self.spawn(self._refresh_presence(self._presence_interval / 3))

    async def detach(self, connection: WebSocketConnection, room: str) -> None:
        """Remove `connection` from `room` (unsubscribing after the last local member)."""
        members = self._rooms.get(room)
        if members is None or connection not in members:
            return
        members.discard(connection)
        if not members:
            del self._rooms[room]
            await self.backend.unsubscribe(room, self._deliver)
        await self.backend.remove_member(room, connection.member)

    async def _refresh_presence(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            present = {room: {c.member for c in members} for room, members in self._rooms.items()}
            try:
                await self.backend.refresh_members(present)
            except Exception:
                logger.warning("realtime presence refresh failed", exc_info=True)

    def register(self, connection: WebSocketConnection) -> None:
        """Track an accepted connection."""
        self._connections.add(connection)
        self._idle.clear()
        labels = {"route": connection.route_name}
        self.metrics.increment(CONNECTIONS_TOTAL, labels=labels)
        self.metrics.set_gauge(CONNECTIONS, self._count(connection.route_name), labels=labels)

    def unregister(self, connection: WebSocketConnection, code: int) -> None:
        """Forget a finished connection."""
        self._connections.discard(connection)
        if not self._connections:
            self._idle.set()
        labels = {"route": connection.route_name}
        self.metrics.set_gauge(CONNECTIONS, self._count(connection.route_name), labels=labels)
        self.metrics.increment(DISCONNECTS, labels=labels | {"code": str(code)})

    def _count(self, route: str) -> int:
        return sum(1 for c in self._connections if c.route_name == route)

    def received(self, connection: WebSocketConnection) -> None:
        """Count one inbound frame."""
        self.metrics.increment(FRAMES_RECEIVED, labels={"route": connection.route_name})

    def sent(self, connection: WebSocketConnection, count: int) -> None:
        """Count outbound frames."""
        self.metrics.increment(FRAMES_SENT, count, labels={"route": connection.route_name})

    def dropped(self, connection: WebSocketConnection, reason: str, count: int = 1) -> None:
        """Count frames not delivered or not handled, by reason."""
        labels = {"route": connection.route_name, "reason": reason}
        self.metrics.increment(FRAMES_DROPPED, count, labels=labels)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `coroutine` in the background, kept alive until it ends or the hub closes."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self, *, grace: float = 5.0) -> None:
        """Close every connection with 1001 (going away) and refuse new ones.

        Call it before the server stops (`RealtimeServer` does), so clients learn the
        service is going away rather than seeing the socket drop. The backend stays open:
        it belongs to whoever created it.
        """
        self.closing = True
        for connection in tuple(self._connections):
            connection.abort(CloseCode.GOING_AWAY, "server shutting down")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)
        for task in tuple(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._presence = None

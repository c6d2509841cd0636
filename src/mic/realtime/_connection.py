"""`WebSocketConnection`: what a handler holds, and the bounded outbound queue behind it.

Every frame for one client goes through one queue drained by one writer task, so sends
never interleave and a slow client never slows anyone else: when its queue is full it is
disconnected (1008 ``slow_consumer``) and its frames are dropped, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from mic._errors import MicError
from mic.http import Headers, HttpRequestContext, Identity
from mic.model import DomainError
from mic.realtime._backend import message_id_key
from mic.realtime._protocol import CloseCode, close_reason, encode_error, encode_message
from mic.realtime._specs import Room, check_room_name

if TYPE_CHECKING:
    from mic.realtime._hub import RealtimeHub

logger = logging.getLogger("mic.realtime")

Send = Callable[[dict[str, Any]], Awaitable[None]]

# How long a close frame may wait behind a client that does not read before mic gives up on
# the handshake (the server's own timeouts then reap the socket).
CLOSE_GRACE = 2.0
MAX_REPLAY = 10_000


class ConnectionClosedError(MicError):
    """The connection is closed or closing; nothing more can be sent on it."""


class WebSocketConnection:
    """One accepted WebSocket connection, as its route's handlers see it.

    Attributes:
        id: Random id, unique per connection (log lines and presence use it).
        route_name: The route's name.
        path_params: Path parameters, converted to their declared types.
        identity: Who connected, as the route's auth policy verified it (``None`` if public).
        correlation_id: The connection's correlation id (from the handshake or generated).
        context: The handshake request (headers, query parameters, client address).
        state: Free-form per-connection storage for handlers.

    Not thread-safe: use it from the event loop that serves it.
    """

    __slots__ = (
        "_closing",
        "_hub",
        "_last_seen",
        "_limit",
        "_queue",
        "_replaying",
        "_send",
        "_sends",
        "_session",
        "_wakeup",
        "_writer",
        "close_code",
        "context",
        "correlation_id",
        "id",
        "identity",
        "path_params",
        "rooms",
        "route_name",
        "state",
    )

    def __init__(
        self,
        *,
        hub: RealtimeHub,
        send: Send,
        context: HttpRequestContext,
        route_name: str,
        path_params: Mapping[str, Any],
        sends: type[BaseModel] | None,
        queue_size: int,
        correlation_id: str,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.route_name = route_name
        self.path_params = dict(path_params)
        self.identity: Identity | None = context.identity
        self.correlation_id = correlation_id
        self.context = context
        self.state: dict[str, Any] = {}
        self.rooms: set[str] = set()
        self.close_code: int | None = None
        self._hub = hub
        self._send = send
        self._sends = sends
        self._limit = queue_size
        self._queue: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._closing = False
        self._replaying: dict[str, list[tuple[str, str]]] = {}
        self._last_seen: dict[str, tuple[int, int]] = {}
        self._writer: asyncio.Task[None] | None = None
        self._session: asyncio.Task[Any] | None = None

    def __repr__(self) -> str:
        return f"WebSocketConnection({self.route_name!r}, id={self.id!r})"

    @property
    def headers(self) -> Headers:
        """The handshake request headers."""
        return self.context.headers

    @property
    def member(self) -> str:
        """This connection's presence entry: ``<subject>#<id>`` (``anonymous`` when public)."""
        subject = self.identity.subject if self.identity is not None else "anonymous"
        return f"{subject}#{self.id}"

    @property
    def closed(self) -> bool:
        """Whether the connection is closing or closed."""
        return self._closing

    async def send(self, message: BaseModel) -> None:
        """Queue `message` for this client only (a ``message`` frame).

        Raises:
            TypeError: The route declares a `sends` model and `message` is not one.
            ConnectionClosedError: The connection is closing or closed.
        """
        if self._sends is not None and not isinstance(message, self._sends):
            raise TypeError(
                f"route {self.route_name!r} sends {self._sends.__name__}, "
                f"not {type(message).__name__}"
            )
        if self._closing:
            raise ConnectionClosedError(f"connection {self.id} is closed")
        self.offer(encode_message(message.model_dump_json()))

    async def send_error(
        self, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        """Queue a typed ``error`` frame for this client."""
        if not self._closing:
            self.offer(encode_error(code, message, details))

    async def publish(self, room: Room | str, message: BaseModel, **params: Any) -> str:
        """Broadcast `message` to `room` in every worker (see `RealtimeHub.publish`)."""
        return await self._hub.publish(room, message, **params)

    async def join(self, room: str, *, last_id: str | None = None) -> None:
        """Receive the broadcasts of `room`; with `last_id`, first those after it (replay).

        Replayed and live messages are merged by id: none is lost and none arrives twice.

        Raises:
            ValueError: `room` is not a valid room name.
            DomainError: ``invalid_last_id`` when `last_id` is not a message id.
        """
        check_room_name(room)
        if room in self.rooms or self._closing:
            return
        if last_id is not None:
            try:
                self._last_seen[room] = message_id_key(last_id)
            except ValueError:
                raise DomainError(
                    "invalid_last_id", "last_id is not a message id", {"last_id": last_id}
                ) from None
            self._replaying[room] = []
        self.rooms.add(room)
        await self._hub.attach(self, room)
        if last_id is not None:
            await self._replay(room, last_id)

    async def _replay(self, room: str, last_id: str) -> None:
        after, replayed = last_id, 0
        while replayed < MAX_REPLAY:
            batch = await self._hub.backend.history(room, after, min(1000, MAX_REPLAY - replayed))
            for message in batch:
                self._push_room(room, message.id, self._hub.room_frame(message))
            replayed += len(batch)
            if len(batch) < 1000:
                break
            after = batch[-1].id
        else:
            self.offer(
                encode_error(
                    "replay_incomplete",
                    "Too many messages to replay",
                    {"room": room, "replayed": replayed},
                ),
                force=True,
            )
        for message_id, frame in self._replaying.pop(room, []):
            self._push_room(room, message_id, frame)

    async def leave(self, room: str) -> None:
        """Stop receiving the broadcasts of `room`."""
        if room in self.rooms:
            self.rooms.discard(room)
            self._replaying.pop(room, None)
            self._last_seen.pop(room, None)
            await self._hub.detach(self, room)

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Send what is queued, then close with `code` (the client sees `reason`)."""
        if self._closing:
            return
        self._closing = True
        self.close_code = int(code)
        self._wakeup.set()
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        await self._send_close(code, reason)

    def abort(self, code: int, reason: str) -> None:
        """Drop what is queued and close now, from any callback (slow client, shutdown...)."""
        if self._closing:
            return
        self._closing = True
        self.close_code = int(code)
        self._queue.clear()
        if self._writer is not None:
            self._writer.cancel()
        self._hub.spawn(self._abort(code, reason))

    async def _abort(self, code: int, reason: str) -> None:
        await self._send_close(code, reason)
        session = self._session
        if session is not None and not session.done():
            # The close frame may never get through to a client that does not read: end the
            # session anyway; the server's own timeouts reap the socket.
            session.cancel()

    async def _send_close(self, code: int, reason: str) -> None:
        message = {"type": "websocket.close", "code": int(code), "reason": close_reason(reason)}
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._send(message), CLOSE_GRACE)

    def offer(self, frame: str, *, force: bool = False) -> bool:
        """Queue an encoded frame; a full queue disconnects the client. False when dropped."""
        if self._closing:
            return False
        if len(self._queue) >= self._limit and not force:
            self._hub.dropped(self, "slow_consumer", len(self._queue) + 1)
            logger.warning(
                "slow consumer disconnected",
                extra={"connection": self.id, "route": self.route_name},
            )
            self.abort(CloseCode.POLICY_VIOLATION, "slow_consumer")
            return False
        self._queue.append(frame)
        self._wakeup.set()
        return True

    def offer_room(self, room: str, message_id: str, frame: str) -> None:
        """Queue a room broadcast, unless it is being replayed or was already sent."""
        buffered = self._replaying.get(room)
        if buffered is not None:
            buffered.append((message_id, frame))
            return
        self._push_room(room, message_id, frame)

    def _push_room(self, room: str, message_id: str, frame: str) -> None:
        seen = self._last_seen.get(room)
        if seen is not None:
            key = message_id_key(message_id)
            if key <= seen:
                return
            self._last_seen[room] = key
        self.offer(frame, force=room in self._replaying)

    def start(self) -> None:
        """Start the writer task (called once the connection is accepted)."""
        self._session = asyncio.current_task()
        self._writer = asyncio.create_task(self._write(), name=f"mic.realtime.writer.{self.id}")

    async def _write(self) -> None:
        queue, send, wakeup = self._queue, self._send, self._wakeup
        sent = 0
        try:
            while True:
                while queue:
                    await send({"type": "websocket.send", "text": queue.popleft()})
                    sent += 1
                if self._closing:
                    return
                if sent:
                    self._hub.sent(self, sent)
                    sent = 0
                wakeup.clear()
                await wakeup.wait()
        finally:
            if sent:
                self._hub.sent(self, sent)

    async def stop(self) -> None:
        """Stop the writer and leave every room (the session is over)."""
        self._closing = True
        self._queue.clear()
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        for room in tuple(self.rooms):
            await self.leave(room)

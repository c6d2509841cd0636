"""`RealtimeClient`: connect to a WebSocket route by its spec, send and receive typed messages.

Like `ServiceHttpClient.call(route, ...)` for HTTP: the route spec gives the path, the
models each way and the room; the client fills the path, sends the token, validates what
arrives and remembers the last id of each room so a reconnect resumes without a gap.
Requires the ``realtime`` extra (the `websockets` package).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from mic._deps import require
from mic._errors import MicError
from mic.realtime._protocol import CloseCode
from mic.realtime._route import LAST_ID_PARAMETER
from mic.realtime._specs import WebSocketRouteSpec

T = TypeVar("T", bound=BaseModel)
TokenSource = Callable[[], Awaitable[str]]
"""``async () -> token``; called for every connection (tokens are short-lived)."""

_GOING_AWAY = frozenset({CloseCode.GOING_AWAY, CloseCode.SERVICE_RESTART})


class RealtimeClosedError(MicError):
    """The connection is closed; `code` and `reason` are what the server said.

    Attributes:
        code: The close code (1006 when the socket dropped without one).
        reason: The close reason.
    """

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"WebSocket closed with {code}: {reason or '(no reason)'}")

    @property
    def going_away(self) -> bool:
        """Whether the server is stopping (1001, or 1012 from the server itself): reconnect."""
        return self.code in _GOING_AWAY


@dataclass(frozen=True, slots=True)
class ReceivedMessage(Generic[T]):
    """A message for this client (a reply or a direct send)."""

    data: T
    kind: Literal["message"] = "message"


@dataclass(frozen=True, slots=True)
class ReceivedBroadcast(Generic[T]):
    """A broadcast in a room, with the id to resume from."""

    room: str
    id: str
    data: T
    kind: Literal["room"] = "room"


@dataclass(frozen=True, slots=True)
class ReceivedError:
    """A typed error frame about something this client sent."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    kind: Literal["error"] = "error"


Received = ReceivedMessage[Any] | ReceivedBroadcast[Any] | ReceivedError


class RealtimeSession:
    """One open connection to a route; an async iterator of what the server sends.

    Not thread-safe; one task should receive while others may send.
    """

    def __init__(self, route: WebSocketRouteSpec, connection: Any, last_ids: dict[str, str]):
        self.route = route
        self.last_ids = last_ids
        self._connection = connection

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server selected."""
        value = self._connection.subprotocol
        return None if value is None else str(value)

    async def send(self, message: BaseModel) -> None:
        """Send `message`, which must be the route's `receives` model.

        Raises:
            TypeError: The route receives nothing, or another model.
            RealtimeClosedError: The connection is closed.
        """
        receives = self.route.receives
        if receives is None or not isinstance(message, receives):
            raise TypeError(f"route {self.route.name!r} does not receive {type(message).__name__}")
        await self._guard(self._connection.send(message.model_dump_json()))

    async def send_raw(self, data: str | bytes) -> None:
        """Send a frame as is (for testing servers with malformed input)."""
        await self._guard(self._connection.send(data))

    async def receive(self) -> Received:
        """The next frame from the server, validated against the route's models.

        Raises:
            RealtimeClosedError: The server closed the connection (or it dropped).
            pydantic.ValidationError: The server sent something its spec does not allow.
        """
        raw = await self._guard(self._connection.recv())
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "room" and self.route.room is not None:
            data = self.route.room.message.model_validate(frame["data"])
            self.last_ids[frame["room"]] = frame["id"]
            return ReceivedBroadcast(frame["room"], frame["id"], data)
        if kind == "message" and self.route.sends is not None:
            return ReceivedMessage(self.route.sends.model_validate(frame["data"]))
        if kind == "error":
            error = frame["error"]
            return ReceivedError(error["code"], error["message"], error.get("details") or {})
        raise ValueError(f"route {self.route.name!r} does not send {kind!r} frames")

    async def _guard(self, operation: Awaitable[Any]) -> Any:
        exceptions = require("websockets.exceptions", "realtime")
        try:
            return await operation
        except exceptions.ConnectionClosed as closed:
            received = closed.rcvd
            code = received.code if received is not None else 1006
            raise RealtimeClosedError(code, received.reason if received else "") from None

    def __aiter__(self) -> RealtimeSession:
        return self

    async def __anext__(self) -> Received:
        try:
            return await self.receive()
        except RealtimeClosedError as closed:
            if closed.code == CloseCode.NORMAL:
                raise StopAsyncIteration from None
            raise

    async def close(self) -> None:
        """Close normally (1000)."""
        await self._connection.close()

    async def __aenter__(self) -> RealtimeSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


class RealtimeClient:
    """Connects to WebSocket routes of one service by their specs.

    Args:
        base_url: ``ws://host:port`` or ``wss://host:port`` (with an optional path prefix).
        token: A token, or ``async () -> token``, sent with every connection.
        token_transport: ``"header"`` (``Authorization: Bearer``, default) or
            ``"subprotocol"`` (``bearer.<token>``, what a browser would do).
        headers: Extra handshake headers (a correlation id, say).
        open_timeout: Seconds allowed for the handshake.
        max_size: Largest frame accepted from the server, in bytes.

    Raises:
        ValueError: `base_url` is not a ``ws``/``wss`` URL.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | TokenSource | None = None,
        token_transport: Literal["header", "subprotocol"] = "header",  # noqa: S107 - a mode
        headers: Mapping[str, str] | None = None,
        open_timeout: float = 10.0,
        max_size: int = 16 * 1024 * 1024,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("ws", "wss") or not parsed.netloc:
            raise ValueError(f"base_url {base_url!r} must be a ws:// or wss:// URL")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.token_transport = token_transport
        self.headers = dict(headers or {})
        self.open_timeout = open_timeout
        self.max_size = max_size
        self.last_ids: dict[str, str] = {}

    def url(self, route: WebSocketRouteSpec, path_params: Mapping[str, Any]) -> str:
        """The URL of `route` with `path_params` filled in (each converted and quoted).

        Raises:
            ValueError: A path parameter is missing, extra, or not of its declared type.
        """
        converters = route.path_converters
        if set(path_params) != set(converters):
            raise ValueError(
                f"route {route.name!r} needs path parameters {sorted(converters)}, "
                f"got {sorted(path_params)}"
            )
        values = {}
        for name, convert in converters.items():
            value = str(path_params[name])
            convert(value)
            values[name] = urllib.parse.quote(value, safe="")
        return self.base_url + route.path_template.format(**values)

    async def _token_value(self) -> str | None:
        if self._token is None or isinstance(self._token, str):
            return self._token
        return await self._token()

    async def connect(
        self,
        route: WebSocketRouteSpec,
        *,
        last_id: str | None = None,
        subprotocols: tuple[str, ...] = (),
        **path_params: Any,
    ) -> RealtimeSession:
        """Open a connection to `route`; use it with ``async with``.

        Args:
            route: The route spec the server serves.
            last_id: Resume the route's room after this id; by default, the last id this
                client saw in that room, if any.
            subprotocols: Application subprotocols to offer.
            **path_params: The route's path parameters.

        A refused handshake is accepted then closed (ADR 0090): the first `receive` raises
        `RealtimeClosedError` with the code (4401, 4403...).

        Raises:
            MissingDependencyError: The ``realtime`` extra is not installed.
        """
        client = require("websockets.asyncio.client", "realtime")
        url = self.url(route, path_params)
        if route.room is not None:
            room = route.room.name(**{n: path_params[n] for n in route.room.parameters})
            last_id = last_id if last_id is not None else self.last_ids.get(room)
            if last_id is not None:
                url += "?" + urllib.parse.urlencode({LAST_ID_PARAMETER: last_id})
        headers = dict(self.headers)
        offered = list(subprotocols)
        token = await self._token_value()
        by_header = self.token_transport == "header"  # noqa: S105 - a mode, not a secret
        if token is not None and by_header:
            headers["Authorization"] = f"Bearer {token}"
        elif token is not None:  # the subprotocol transport
            offered.append(f"bearer.{token}")
        connection = await client.connect(
            url,
            additional_headers=headers,
            subprotocols=offered or None,
            open_timeout=self.open_timeout,
            max_size=self.max_size,
        )
        return RealtimeSession(route, connection, self.last_ids)

"""Pure-data specs of the realtime layer: a WebSocket route and a room template.

Nothing here talks to a framework or a network; routes are checked when they are built and
again, against the router configuration, when `compile_websocket_routes` resolves them.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from mic.http import RouteInterceptor, RouteSpecError
from mic.ratelimit import RateLimitPolicy

if TYPE_CHECKING:
    from mic.realtime._connection import WebSocketConnection

MessageHandler = Callable[["WebSocketConnection", Any], Awaitable[BaseModel | None]]
"""``async (connection, message) -> reply | None``: a reply goes back to the sender only."""

ConnectionHook = Callable[["WebSocketConnection"], Awaitable[None]]
"""``async (connection) -> None``: runs once when a connection opens, or once when it ends."""

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Room names travel in frames, Redis keys and metrics-free log lines: a conservative charset.
_ROOM_TEXT = re.compile(r"^[A-Za-z0-9_.:@\-]+$")
MAX_ROOM_NAME = 200

PATH_CONVERTERS: Mapping[str, Callable[[str], Any]] = {"str": str, "int": int, "uuid": uuid.UUID}
"""Placeholder types a WebSocket path may declare: ``{order_id:int}``, ``{id:uuid}``."""


def parse_path(route: str, path: str) -> tuple[str, dict[str, Callable[[str], Any]]]:
    """Split ``/orders/{order_id:int}`` into ``/orders/{order_id}`` and its converters.

    Raises:
        RouteSpecError: A placeholder is not an identifier, repeats, or has an unknown type.
    """
    converters: dict[str, Callable[[str], Any]] = {}

    def plain(match: re.Match[str]) -> str:
        name, _, kind = match.group(1).partition(":")
        if not _IDENTIFIER.match(name):
            raise RouteSpecError(f"route {route!r}: placeholder {{{name}}} must be an identifier")
        if name in converters:
            raise RouteSpecError(f"route {route!r}: placeholder {{{name}}} appears twice")
        converter = PATH_CONVERTERS.get(kind or "str")
        if converter is None:
            raise RouteSpecError(
                f"route {route!r}: placeholder type {kind!r} is not one of "
                f"{sorted(PATH_CONVERTERS)}"
            )
        converters[name] = converter
        return "{" + name + "}"

    return _PLACEHOLDER.sub(plain, path), converters


def check_room_name(name: str) -> str:
    """Return `name` when it is a valid room name.

    Raises:
        ValueError: Empty, longer than `MAX_ROOM_NAME`, or a character outside
            ``A-Z a-z 0-9 _ . : @ -``.
    """
    if not isinstance(name, str) or not 0 < len(name) <= MAX_ROOM_NAME:
        raise ValueError(f"room name must be 1 to {MAX_ROOM_NAME} characters")
    if not _ROOM_TEXT.match(name):
        raise ValueError(f"room name {name!r} may only use A-Z a-z 0-9 _ . : @ -")
    return name


@dataclass(frozen=True, slots=True)
class Room:
    """A family of rooms named by a template, and the model of what is broadcast in them.

    Attributes:
        template: Name template with ``{name}`` placeholders (``"orders:{order_id}"``).
        message: The pydantic model every broadcast in these rooms carries.
        description: What the rooms are for, for the AsyncAPI document.

    Raises:
        ValueError: A placeholder that is not an identifier, or literal text outside the room
            name charset.
        TypeError: `message` is not a pydantic model class.
    """

    template: str
    message: type[BaseModel]
    description: str | None = None
    parameters: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(_PLACEHOLDER.findall(self.template))
        for name in names:
            if not _IDENTIFIER.match(name):
                raise ValueError(f"room {self.template!r}: {{{name}}} must be an identifier")
        literal = _PLACEHOLDER.sub("x", self.template)
        check_room_name(literal)
        if not (isinstance(self.message, type) and issubclass(self.message, BaseModel)):
            raise TypeError(f"room {self.template!r}: message must be a pydantic model class")
        object.__setattr__(self, "parameters", names)

    def name(self, **values: Any) -> str:
        """The concrete room name for `values` (``orders:{order_id}`` -> ``orders:42``).

        Raises:
            ValueError: A parameter is missing or extra, or the result is not a valid name.
        """
        if set(values) != set(self.parameters):
            raise ValueError(
                f"room {self.template!r} needs exactly {sorted(self.parameters)}, "
                f"got {sorted(values)}"
            )
        return check_room_name(self.template.format(**{k: str(v) for k, v in values.items()}))


@dataclass(frozen=True, slots=True)
class WebSocketRouteSpec:
    """A WebSocket endpoint as pure data: where it is, what flows each way, who may connect.

    Attributes:
        path: Path template; placeholders may be typed: ``/orders/{order_id:int}`` (``str``,
            ``int``, ``uuid``; ``str`` when untyped).
        name: Unique route name; the AsyncAPI channel key.
        receives: Model of the JSON text frames clients send; ``None`` for a server-push
            route (any client frame then gets an ``unexpected_message`` error frame).
        sends: Model of the messages the server sends to one connection (handler replies
            and `WebSocketConnection.send`).
        on_message: ``async (connection, message) -> reply | None`` for every valid frame.
        on_connect: Runs once the connection is accepted and authenticated.
        on_disconnect: Runs once when the connection ends, whatever the reason.
        room: Joined on connect; its placeholders are filled from the path parameters.
        category: Grouping, also the default tag.
        summary: One line for the AsyncAPI document.
        description: Longer description for the AsyncAPI document.
        tags: Tags; `category` when empty.
        auth: Who may connect (``ServiceAuth``, ``ApiKeyAuth``, ``CustomAuth``...); ``None``
            means the router's `default_auth`.
        rate_limit: A `mic.ratelimit.RateLimit` on connection attempts (the handshake).
        message_rate_limit: Inbound frames allowed per connection; over it a frame gets a
            ``rate_limited`` error frame and is not handled. Needs a ``RateLimiter`` service.
        interceptors: Further handshake interceptors, outermost first.
        max_frame_size: Largest inbound frame in bytes; a larger one closes with 1009.
        send_queue_size: Outbound frames buffered per connection; a client that lets it
            fill up is disconnected (1008 ``slow_consumer``).
        token_query_parameter: Query parameter that may carry the token (``access_token``);
            ``None`` (the default) refuses tokens in URLs, which end up in access logs.
        subprotocols: Application subprotocols the route speaks (the first one the client
            offers is selected); ``bearer.<token>`` is understood separately.
        include_in_schema: Whether the route appears in the AsyncAPI document.
    """

    path: str
    name: str
    receives: type[BaseModel] | None = None
    sends: type[BaseModel] | None = None
    on_message: MessageHandler | None = None
    on_connect: ConnectionHook | None = None
    on_disconnect: ConnectionHook | None = None
    room: Room | None = None
    category: str = ""
    summary: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    auth: RouteInterceptor | None = None
    rate_limit: RouteInterceptor | None = None
    message_rate_limit: RateLimitPolicy | None = None
    interceptors: tuple[RouteInterceptor, ...] = ()
    max_frame_size: int = 64 * 1024
    send_queue_size: int = 256
    token_query_parameter: str | None = None
    subprotocols: tuple[str, ...] = ()
    include_in_schema: bool = True
    path_template: str = field(init=False, repr=False, compare=False)
    path_converters: Mapping[str, Callable[[str], Any]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not self.name:
            raise RouteSpecError("a WebSocket route needs a non-empty name")
        if not self.path.startswith("/"):
            raise RouteSpecError(f"route {self.name!r}: path {self.path!r} must start with '/'")
        template, converters = parse_path(self.name, self.path)
        object.__setattr__(self, "path_template", template)
        object.__setattr__(self, "path_converters", converters)
        self._check_handlers()
        if self.room is not None and (missing := set(self.room.parameters) - set(converters)):
            raise RouteSpecError(
                f"route {self.name!r}: room {self.room.template!r} needs {sorted(missing)}, "
                "which the path does not provide"
            )
        if not 1 <= self.max_frame_size <= 64 * 1024 * 1024:
            raise RouteSpecError(f"route {self.name!r}: max_frame_size must be 1 B to 64 MiB")
        if not 1 <= self.send_queue_size <= 1_000_000:
            raise RouteSpecError(f"route {self.name!r}: send_queue_size must be 1 to 1000000")
        if self.token_query_parameter is not None and not _IDENTIFIER.match(
            self.token_query_parameter
        ):
            raise RouteSpecError(f"route {self.name!r}: token_query_parameter is not a name")
        for protocol in self.subprotocols:
            if not protocol or protocol.lower().startswith("bearer.") or "," in protocol:
                raise RouteSpecError(f"route {self.name!r}: invalid subprotocol {protocol!r}")

    def _check_handlers(self) -> None:
        for model, what in ((self.receives, "receives"), (self.sends, "sends")):
            if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise RouteSpecError(f"route {self.name!r}: {what} must be a pydantic model class")
        if self.receives is not None and self.on_message is None:
            raise RouteSpecError(f"route {self.name!r}: receives is set but on_message is not")
        if self.on_message is not None and self.receives is None:
            raise RouteSpecError(f"route {self.name!r}: on_message needs a receives model")
        for hook in (self.on_message, self.on_connect, self.on_disconnect):
            if hook is not None and not callable(hook):
                raise RouteSpecError(f"route {self.name!r}: a handler is not callable")
            # Handlers run on the connection's task, one frame at a time: they must not block.
            if hook is not None and not inspect.iscoroutinefunction(hook):
                raise RouteSpecError(f"route {self.name!r}: {hook!r} must be an async function")

    @property
    def openapi_tags(self) -> tuple[str, ...]:
        """The tags the docs show: `tags`, or the category."""
        return self.tags or ((self.category,) if self.category else ())

"""WebSocket routes as AsyncAPI 3.0: one channel per route, one operation per direction.

The routes are converted into the neutral `mic.asyncapi` values and handed to
`build_asyncapi`, the one document builder; event specs go through the same builder, so a
service can list both in one document.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mic.asyncapi import (
    AsyncApiChannel,
    AsyncApiMessage,
    AsyncApiOperation,
    AsyncApiServer,
    build_asyncapi,
)
from mic.http import SecurityRequirement
from mic.realtime._protocol import ErrorFrame, MessageFrame, RoomFrame
from mic.realtime._route import LAST_ID_PARAMETER, CompiledWebSocketRoute
from mic.realtime._specs import WebSocketRouteSpec

ERROR_MESSAGE = AsyncApiMessage(
    name="mic.realtime.error",
    payload=ErrorFrame,
    title="Error",
    summary="A typed error about one frame the client sent; the connection stays open.",
)
_TYPE_NAMES: Mapping[Any, str] = {str: "string", int: "integer", uuid.UUID: "uuid"}


@dataclass(frozen=True, slots=True)
class RealtimeAsyncApi:
    """The AsyncAPI values of some WebSocket routes, ready for `build_asyncapi`.

    Attributes:
        channels: One channel per route.
        operations: ``<route>.receive`` (frames the server receives) and ``<route>.send``
            (frames it sends), per route.
        security_schemes: The schemes the operations reference, by name.
    """

    channels: tuple[AsyncApiChannel, ...]
    operations: tuple[AsyncApiOperation, ...]
    security_schemes: Mapping[str, Mapping[str, Any]]


def _scheme(requirement: SecurityRequirement) -> dict[str, Any]:
    """An OpenAPI security scheme in AsyncAPI 3.0 terms (``apiKey`` in a header differs)."""
    scheme = dict(requirement.scheme)
    if scheme.get("type") == "apiKey":
        scheme["type"] = "httpApiKey"
    return scheme


def _bindings(spec: WebSocketRouteSpec) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if spec.room is not None:
        query[LAST_ID_PARAMETER] = {
            "type": "string",
            "description": "Replay the room's messages after this id, then go live.",
        }
    if spec.token_query_parameter is not None:
        query[spec.token_query_parameter] = {"type": "string", "description": "The token."}
    binding: dict[str, Any] = {"bindingVersion": "0.1.0"}
    if query:
        binding["query"] = {"type": "object", "properties": query}
    return {"ws": binding}


def _channel(route: CompiledWebSocketRoute | WebSocketRouteSpec) -> AsyncApiChannel:
    spec = route.spec if isinstance(route, CompiledWebSocketRoute) else route
    path = route.path if isinstance(route, CompiledWebSocketRoute) else spec.path_template
    messages: list[AsyncApiMessage] = []
    if spec.receives is not None:
        messages.append(
            AsyncApiMessage(
                name=f"{spec.name}.receive",
                payload=spec.receives,
                title=spec.receives.__name__,
                summary="What a client sends, as a JSON text frame.",
            )
        )
    if spec.sends is not None:
        messages.append(
            AsyncApiMessage(
                name=f"{spec.name}.message",
                payload=MessageFrame[spec.sends],  # type: ignore[name-defined]
                title=spec.sends.__name__,
                summary="A message for this one client.",
            )
        )
    if spec.room is not None:
        messages.append(
            AsyncApiMessage(
                name=f"{spec.name}.room",
                payload=RoomFrame[spec.room.message],  # type: ignore[name-defined]
                title=spec.room.message.__name__,
                summary=f"A broadcast in room {spec.room.template}.",
                description=spec.room.description,
            )
        )
    messages.append(ERROR_MESSAGE)
    parameters = {
        name: f"Path parameter ({_TYPE_NAMES[convert]})"
        for name, convert in spec.path_converters.items()
    }
    return AsyncApiChannel(
        key=spec.name,
        address=path,
        messages=tuple(messages),
        parameters=parameters,
        title=spec.name,
        summary=spec.summary,
        description=spec.description,
        bindings=_bindings(spec),
    )


def realtime_asyncapi(
    routes: Iterable[CompiledWebSocketRoute | WebSocketRouteSpec],
) -> RealtimeAsyncApi:
    """Describe WebSocket routes as AsyncAPI channels and operations.

    Pass compiled routes (`compile_websocket_routes`) to document the router prefix and the
    handshake's security; plain specs document neither.
    """
    channels: list[AsyncApiChannel] = []
    operations: list[AsyncApiOperation] = []
    schemes: dict[str, Mapping[str, Any]] = {}
    for route in routes:
        spec = route.spec if isinstance(route, CompiledWebSocketRoute) else route
        if not spec.include_in_schema:
            continue
        security = route.security if isinstance(route, CompiledWebSocketRoute) else ()
        for requirement in security:
            schemes[requirement.scheme_name] = _scheme(requirement)
        names = tuple(s.scheme_name for s in security)
        channel = _channel(route)
        channels.append(channel)
        received = tuple(m.name for m in channel.messages if m.name.endswith(".receive"))
        sent = tuple(m.name for m in channel.messages if m.name not in received)
        if received:
            operations.append(
                AsyncApiOperation(
                    key=f"{spec.name}.receive",
                    action="receive",
                    channel=spec.name,
                    messages=received,
                    summary="Frames the server accepts.",
                    security=names,
                )
            )
        operations.append(
            AsyncApiOperation(
                key=f"{spec.name}.send",
                action="send",
                channel=spec.name,
                messages=sent,
                summary="Frames the server sends.",
                security=names,
            )
        )
    return RealtimeAsyncApi(tuple(channels), tuple(operations), schemes)


def build_realtime_asyncapi(
    routes: Sequence[CompiledWebSocketRoute | WebSocketRouteSpec],
    *,
    title: str,
    version: str,
    servers: Iterable[AsyncApiServer] = (),
    description: str | None = None,
) -> dict[str, Any]:
    """An AsyncAPI 3.0 document of WebSocket routes, built by `mic.asyncapi.build_asyncapi`.

    Raises:
        AsyncApiError: Two routes produce the same keys, or a server is referenced wrongly.
    """
    described = realtime_asyncapi(routes)
    return build_asyncapi(
        title=title,
        version=version,
        channels=described.channels,
        operations=described.operations,
        servers=servers,
        description=description,
        security_schemes=described.security_schemes,
    )

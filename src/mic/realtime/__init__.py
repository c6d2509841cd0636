"""WebSocket endpoints and rooms from specs, served alike by FastAPI and Litestar.

`WebSocketRouteSpec` describes an endpoint (path, models each way, auth, limits) and `Room`
a family of rooms; `RealtimeHub` fans broadcasts out through a `RealtimeBackend`
(`InMemoryRealtimeBackend`, or `RedisStreamsRealtimeBackend` with the ``redis`` extra)
to every worker. `RealtimeClient` connects by spec (extra ``realtime``). See
docs/realtime.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mic.realtime._asyncapi import RealtimeAsyncApi, build_realtime_asyncapi, realtime_asyncapi
from mic.realtime._backend import (
    Deliver,
    InMemoryRealtimeBackend,
    RealtimeBackend,
    RoomMessage,
    message_id_key,
)
from mic.realtime._client import (
    RealtimeClient,
    RealtimeClosedError,
    RealtimeSession,
    Received,
    ReceivedBroadcast,
    ReceivedError,
    ReceivedMessage,
)
from mic.realtime._connection import ConnectionClosedError, WebSocketConnection
from mic.realtime._hub import RealtimeHub
from mic.realtime._protocol import CloseCode, ErrorBody, ErrorFrame, MessageFrame, RoomFrame
from mic.realtime._redis import RedisStreamsRealtimeBackend
from mic.realtime._route import (
    LAST_ID_PARAMETER,
    CompiledWebSocketRoute,
    compile_websocket_routes,
)
from mic.realtime._specs import ConnectionHook, MessageHandler, Room, WebSocketRouteSpec

if TYPE_CHECKING:
    from mic.realtime._server import RealtimeServer

__all__ = [
    "LAST_ID_PARAMETER",
    "CloseCode",
    "CompiledWebSocketRoute",
    "ConnectionClosedError",
    "ConnectionHook",
    "Deliver",
    "ErrorBody",
    "ErrorFrame",
    "InMemoryRealtimeBackend",
    "MessageFrame",
    "MessageHandler",
    "RealtimeAsyncApi",
    "RealtimeBackend",
    "RealtimeClient",
    "RealtimeClosedError",
    "RealtimeHub",
    "RealtimeServer",
    "RealtimeSession",
    "Received",
    "ReceivedBroadcast",
    "ReceivedError",
    "ReceivedMessage",
    "RedisStreamsRealtimeBackend",
    "Room",
    "RoomFrame",
    "RoomMessage",
    "WebSocketConnection",
    "WebSocketRouteSpec",
    "build_realtime_asyncapi",
    "compile_websocket_routes",
    "message_id_key",
    "realtime_asyncapi",
]


def __getattr__(name: str) -> Any:
    # The server subclasses uvicorn's: import it (and the ``server`` extra) on first use.
    if name == "RealtimeServer":
        from mic.realtime._server import RealtimeServer

        return RealtimeServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

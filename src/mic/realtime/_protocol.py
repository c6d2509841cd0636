"""The wire protocol: close codes, the frames the server sends, and their encoding.

Clients send their route's `receives` model as a JSON text frame, unwrapped. The server
wraps everything it sends in a small envelope so a client tells messages, room broadcasts
(with the id to resume from) and error frames apart (ADR 0091).
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class CloseCode(IntEnum):
    """Close codes the server uses (RFC 6455 section 7.4.1, IANA registry; 4xxx: ADR 0090).

    Attributes:
        NORMAL: The handler or the client ended the conversation.
        GOING_AWAY: The server is shutting down (`RealtimeHub.close`); reconnect elsewhere.
        UNSUPPORTED_DATA: A binary frame on a JSON route.
        INVALID_PAYLOAD: A text frame that is not JSON.
        POLICY_VIOLATION: The client broke a rule: it reads too slowly (``slow_consumer``).
        MESSAGE_TOO_BIG: A frame over the route's `max_frame_size`.
        INTERNAL_ERROR: A handler failed unexpectedly (logged with the correlation id).
        SERVICE_RESTART: Sent by uvicorn itself when it stops before mic could close.
        UNAUTHORIZED: No valid credentials at the handshake, or they expired meanwhile.
        FORBIDDEN: Authenticated, but not allowed (issuer, scope).
        NOT_FOUND: A path parameter does not have its declared type.
        RATE_LIMITED: Too many connection attempts (the route's `rate_limit`).
    """

    NORMAL = 1000
    GOING_AWAY = 1001
    UNSUPPORTED_DATA = 1003
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    NOT_FOUND = 4404
    RATE_LIMITED = 4429


def handshake_close_code(http_status: int) -> int:
    """The close code of a handshake refused with `http_status`: ``4000 + status`` (ADR 0090)."""
    return 4000 + http_status if 400 <= http_status <= 599 else int(CloseCode.POLICY_VIOLATION)


def close_reason(text: str) -> str:
    """`text` cut to the 123 bytes a close frame's reason may hold (RFC 6455 section 5.5)."""
    encoded = text.encode()[:123]
    return encoded.decode(errors="ignore")


class MessageFrame(BaseModel, Generic[T]):
    """A message for one connection: a handler's reply or `WebSocketConnection.send`."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["message"]
    data: T


class RoomFrame(BaseModel, Generic[T]):
    """A broadcast in a room; `id` is what a client resumes from (``last_id``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["room"]
    room: str
    id: str
    data: T


class ErrorBody(BaseModel):
    """What went wrong with one inbound frame; the connection stays open."""

    model_config = ConfigDict(extra="forbid")

    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorFrame(BaseModel):
    """A typed error about one inbound frame (``invalid_message``, ``rate_limited``...)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["error"]
    error: ErrorBody


def encode_message(data_json: str) -> str:
    """A `MessageFrame` around already-encoded JSON."""
    return '{"type":"message","data":' + data_json + "}"


def encode_room(room: str, message_id: str, data_json: str) -> str:
    """A `RoomFrame` around already-encoded JSON; built once per broadcast, not per client."""
    # Room names and ids use a charset that needs no JSON escaping (see check_room_name).
    return (
        '{"type":"room","room":"' + room + '","id":"' + message_id + '","data":' + data_json + "}"
    )


def encode_error(code: str, message: str, details: dict[str, Any] | None = None) -> str:
    """An `ErrorFrame`."""
    error = {"code": code, "message": message, "details": details or {}}
    return json.dumps({"type": "error", "error": error}, separators=(",", ":"), default=str)

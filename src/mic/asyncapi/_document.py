"""The AsyncAPI 3.0 builder: neutral channel, message and operation descriptions in, a document out.

Payload schemas come from pydantic and are gathered once under ``components.schemas``; every
message is a component referenced from its channel, and every operation references the channel
and the channel's messages, as AsyncAPI 3.0 requires.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from mic._errors import MicError

ASYNCAPI_VERSION = "3.0.0"
_SCHEMA_REF = "#/components/schemas/{model}"
_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class AsyncApiError(MicError, ValueError):
    """The channels, messages or operations do not form a valid AsyncAPI document."""


def _check_key(kind: str, key: str) -> None:
    if not _KEY.match(key):
        raise AsyncApiError(
            f"{kind} key {key!r} must match {_KEY.pattern} (AsyncAPI component key rule)"
        )


@dataclass(frozen=True, slots=True)
class AsyncApiMessage:
    """One message a channel carries.

    Attributes:
        name: Component key, unique in the document (the same name always means the same payload).
        payload: The pydantic model of the message body.
        title: Human-readable title.
        summary: One-line summary.
        description: Longer description (CommonMark).
        content_type: Media type of the payload.
        headers: Optional pydantic model of the message headers.
        correlation_id: Runtime expression locating the correlation id, e.g.
            ``"$message.header#/x-request-id"``.
    """

    name: str
    payload: type[BaseModel]
    title: str | None = None
    summary: str | None = None
    description: str | None = None
    content_type: str = "application/json"
    headers: type[BaseModel] | None = None
    correlation_id: str | None = None

    def __post_init__(self) -> None:
        _check_key("message", self.name)


@dataclass(frozen=True, slots=True)
class AsyncApiChannel:
    """A place messages flow through: a topic, a subject, a WebSocket path.

    Attributes:
        key: Channel id, unique in the document.
        address: The address with ``{name}`` placeholders (``"orders.{order_id}"``), or ``None``
            when it is only known at run time.
        messages: The messages this channel carries.
        parameters: Each placeholder of `address` with its description.
        title: Human-readable title.
        summary: One-line summary.
        description: Longer description.
        servers: Keys of the `AsyncApiServer` entries this channel is available on (all if empty).
        bindings: Protocol-specific bindings (``{"ws": {...}}``).
    """

    key: str
    address: str | None
    messages: tuple[AsyncApiMessage, ...]
    parameters: Mapping[str, str] = field(default_factory=dict)
    title: str | None = None
    summary: str | None = None
    description: str | None = None
    servers: tuple[str, ...] = ()
    bindings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_key("channel", self.key)
        names = [message.name for message in self.messages]
        if len(set(names)) != len(names):
            raise AsyncApiError(f"channel {self.key!r} lists a message twice: {names}")
        placeholders = set(_PLACEHOLDER.findall(self.address or ""))
        if placeholders != set(self.parameters):
            raise AsyncApiError(
                f"channel {self.key!r}: address placeholders {sorted(placeholders)} and "
                f"parameters {sorted(self.parameters)} must be the same names"
            )


@dataclass(frozen=True, slots=True)
class AsyncApiOperation:
    """What the application does on a channel, from the application's point of view.

    Attributes:
        key: Operation id, unique in the document.
        action: ``"send"`` (the application publishes) or ``"receive"`` (it consumes).
        channel: Key of the channel.
        messages: Names of the channel's messages this operation uses (all of them if empty).
        title: Human-readable title.
        summary: One-line summary.
        description: Longer description.
        security: Keys of ``components.securitySchemes`` that apply.
        reply_channel: Key of the channel a reply comes on, for request/reply operations.
        reply_messages: Names of the reply channel's messages (all of them if empty).
        bindings: Protocol-specific bindings.
    """

    key: str
    action: Literal["send", "receive"]
    channel: str
    messages: tuple[str, ...] = ()
    title: str | None = None
    summary: str | None = None
    description: str | None = None
    security: tuple[str, ...] = ()
    reply_channel: str | None = None
    reply_messages: tuple[str, ...] = ()
    bindings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_key("operation", self.key)
        if self.action not in ("send", "receive"):
            raise AsyncApiError(f"operation {self.key!r}: action must be 'send' or 'receive'")
        if self.reply_messages and self.reply_channel is None:
            raise AsyncApiError(f"operation {self.key!r}: reply_messages need a reply_channel")


@dataclass(frozen=True, slots=True)
class AsyncApiServer:
    """A broker or endpoint the channels live on.

    Attributes:
        key: Server id, unique in the document.
        host: Host and optional port (``"broker.example.com:4222"``).
        protocol: ``"nats"``, ``"redis"``, ``"ws"``, ``"wss"``, ``"kafka"``...
        pathname: Path on the host, for WebSocket servers.
        description: Longer description.
        security: Keys of ``components.securitySchemes`` that apply.
    """

    key: str
    host: str
    protocol: str
    pathname: str | None = None
    description: str | None = None
    security: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_key("server", self.key)


def _texts(item: Any, *names: str) -> dict[str, Any]:
    return {name: value for name in names if (value := getattr(item, name)) is not None}


def _unique(kind: str, keys: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise AsyncApiError(f"two {kind}s share the key {key!r}")
        seen.add(key)
    return seen


def _security_refs(owner: str, keys: tuple[str, ...], schemes: Mapping[str, Any]) -> list[Any]:
    for key in keys:
        if key not in schemes:
            raise AsyncApiError(f"{owner} names unknown security scheme {key!r}")
    return [{"$ref": f"#/components/securitySchemes/{key}"} for key in keys]


def _messages(channels: Iterable[AsyncApiChannel]) -> dict[str, AsyncApiMessage]:
    messages: dict[str, AsyncApiMessage] = {}
    for channel in channels:
        for message in channel.messages:
            known = messages.setdefault(message.name, message)
            if known != message:
                raise AsyncApiError(
                    f"message name {message.name!r} is used for two different messages"
                )
    return messages


_Refs = dict[type[BaseModel], dict[str, Any]]


def _schemas(messages: Mapping[str, AsyncApiMessage]) -> tuple[dict[str, Any], _Refs]:
    """Every payload and header schema once, and the reference to each model's schema."""
    models: list[type[BaseModel]] = []
    for message in messages.values():
        for model in (message.payload, message.headers):
            if model is not None and model not in models:
                models.append(model)
    if not models:
        return {}, {}
    refs, schema = models_json_schema(
        [(model, "validation") for model in models], ref_template=_SCHEMA_REF
    )
    definitions: dict[str, Any] = schema.get("$defs", {})
    by_model = {model: dict(refs[(model, "validation")]) for model in models}
    return dict(sorted(definitions.items())), by_model


def _message_object(message: AsyncApiMessage, refs: _Refs) -> dict[str, Any]:
    body: dict[str, Any] = {"name": message.name, "contentType": message.content_type}
    body |= _texts(message, "title", "summary", "description")
    body["payload"] = refs[message.payload]
    if message.headers is not None:
        body["headers"] = refs[message.headers]
    if message.correlation_id is not None:
        body["correlationId"] = {"location": message.correlation_id}
    return body


def _channel_object(channel: AsyncApiChannel, server_keys: set[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"address": channel.address}
    body |= _texts(channel, "title", "summary", "description")
    body["messages"] = {
        message.name: {"$ref": f"#/components/messages/{message.name}"}
        for message in channel.messages
    }
    if channel.parameters:
        body["parameters"] = {
            name: {"description": text} for name, text in sorted(channel.parameters.items())
        }
    for server in channel.servers:
        if server not in server_keys:
            raise AsyncApiError(f"channel {channel.key!r} names unknown server {server!r}")
    if channel.servers:
        body["servers"] = [{"$ref": f"#/servers/{server}"} for server in channel.servers]
    if channel.bindings:
        body["bindings"] = dict(channel.bindings)
    return body


def _message_refs(
    owner: str, channel: AsyncApiChannel, names: tuple[str, ...]
) -> list[dict[str, str]]:
    available = [message.name for message in channel.messages]
    for name in names:
        if name not in available:
            raise AsyncApiError(f"{owner}: channel {channel.key!r} has no message {name!r}")
    return [{"$ref": f"#/channels/{channel.key}/messages/{name}"} for name in (names or available)]


def _operation_object(
    operation: AsyncApiOperation,
    channels: Mapping[str, AsyncApiChannel],
    schemes: Mapping[str, Any],
) -> dict[str, Any]:
    owner = f"operation {operation.key!r}"
    channel = channels.get(operation.channel)
    if channel is None:
        raise AsyncApiError(f"{owner} names unknown channel {operation.channel!r}")
    body: dict[str, Any] = {
        "action": operation.action,
        "channel": {"$ref": f"#/channels/{channel.key}"},
    }
    body |= _texts(operation, "title", "summary", "description")
    body["messages"] = _message_refs(owner, channel, operation.messages)
    if operation.security:
        body["security"] = _security_refs(owner, operation.security, schemes)
    if operation.reply_channel is not None:
        reply = channels.get(operation.reply_channel)
        if reply is None:
            raise AsyncApiError(f"{owner} names unknown reply channel {operation.reply_channel!r}")
        body["reply"] = {
            "channel": {"$ref": f"#/channels/{reply.key}"},
            "messages": _message_refs(owner, reply, operation.reply_messages),
        }
    if operation.bindings:
        body["bindings"] = dict(operation.bindings)
    return body


def _server_object(server: AsyncApiServer, schemes: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"host": server.host, "protocol": server.protocol}
    body |= _texts(server, "pathname", "description")
    if server.security:
        body["security"] = _security_refs(f"server {server.key!r}", server.security, schemes)
    return body


def build_asyncapi(
    *,
    title: str,
    version: str,
    channels: Iterable[AsyncApiChannel],
    operations: Iterable[AsyncApiOperation] = (),
    servers: Iterable[AsyncApiServer] = (),
    description: str | None = None,
    security_schemes: Mapping[str, Mapping[str, Any]] | None = None,
    default_content_type: str = "application/json",
) -> dict[str, Any]:
    """Build an AsyncAPI 3.0 document.

    Args:
        title: The application's title (``info.title``).
        version: The application's version (``info.version``).
        channels: Every channel the application uses.
        operations: What the application sends and receives on those channels.
        servers: Brokers or endpoints the channels live on.
        description: ``info.description``.
        security_schemes: ``components.securitySchemes`` by key.
        default_content_type: ``defaultContentType``.

    Returns:
        The document as JSON-compatible dicts and lists; `render_asyncapi` serializes it.

    Raises:
        AsyncApiError: Duplicate keys, a reference to an unknown channel, message, server or
            security scheme, or one message name used for two different messages.
    """
    channel_list = list(channels)
    operation_list = list(operations)
    server_list = list(servers)
    schemes = dict(security_schemes or {})
    _unique("channel", (channel.key for channel in channel_list))
    _unique("operation", (operation.key for operation in operation_list))
    server_keys = _unique("server", (server.key for server in server_list))
    by_key = {channel.key: channel for channel in channel_list}
    messages = _messages(channel_list)
    info: dict[str, Any] = {"title": title, "version": version}
    if description is not None:
        info["description"] = description
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info,
        "defaultContentType": default_content_type,
    }
    if server_list:
        document["servers"] = {s.key: _server_object(s, schemes) for s in server_list}
    document["channels"] = {c.key: _channel_object(c, server_keys) for c in channel_list}
    document["operations"] = {o.key: _operation_object(o, by_key, schemes) for o in operation_list}
    schemas, refs = _schemas(messages)
    components: dict[str, Any] = {
        "schemas": schemas,
        "messages": {name: _message_object(m, refs) for name, m in sorted(messages.items())},
    }
    if schemes:
        components["securitySchemes"] = {key: dict(value) for key, value in schemes.items()}
    document["components"] = components
    return document


def render_asyncapi(document: Mapping[str, Any]) -> bytes:
    """Serialize a document to compact UTF-8 JSON, byte-stable for the same input."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

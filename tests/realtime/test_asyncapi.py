"""WebSocket routes in AsyncAPI 3.0, through the one `mic.asyncapi` builder."""

from __future__ import annotations

from typing import Any

import pytest

from mic.asyncapi import AsyncApiServer
from mic.realtime import (
    RealtimeHub,
    build_realtime_asyncapi,
    compile_websocket_routes,
    realtime_asyncapi,
)
from tests.asyncapi_parser import parse_asyncapi
from tests.realtime.support import ROUTES, config

SERVER = AsyncApiServer(key="local", host="localhost:8000", protocol="ws")


def document(**options: Any) -> dict[str, Any]:
    compiled = compile_websocket_routes(ROUTES, config(RealtimeHub()), prefix="/live")
    return build_realtime_asyncapi(
        compiled, title="demo", version="1.0", servers=[SERVER], **options
    )


def test_one_channel_per_route_with_its_address_and_parameters() -> None:
    channels = document()["channels"]
    assert [route.name for route in ROUTES] == list(channels)
    assert (
        "/live/ws/chat/{room_id}",
        {"room_id": {"description": "Path parameter (integer)"}},
    ) == (channels["chat"]["address"], channels["chat"]["parameters"])
    assert {"last_id"} == set(channels["chat"]["bindings"]["ws"]["query"]["properties"])
    assert {"access_token"} == set(channels["secure"]["bindings"]["ws"]["query"]["properties"])


def test_operations_say_what_the_server_receives_and_sends() -> None:
    operations = document()["operations"]
    assert ["#/channels/echo/messages/echo.receive"] == [
        m["$ref"] for m in operations["echo.receive"]["messages"]
    ]
    assert ["echo.message", "mic.realtime.error"] == [
        m["$ref"].rsplit("/", 1)[1] for m in operations["echo.send"]["messages"]
    ]
    assert ("receive", "send") == (
        operations["echo.receive"]["action"],
        operations["echo.send"]["action"],
    )
    assert "feed.receive" not in operations
    assert ["chat.room", "mic.realtime.error"] == [
        m["$ref"].rsplit("/", 1)[1] for m in operations["chat.send"]["messages"]
    ]


def test_security_of_the_handshake_is_documented() -> None:
    built = document()
    assert {
        "serviceToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "apiKey": {"type": "httpApiKey", "in": "header", "name": "X-API-Key"},
    } == (built["components"]["securitySchemes"])
    assert [{"$ref": "#/components/securitySchemes/serviceToken"}] == (
        built["operations"]["secure.send"]["security"]
    )


def test_frames_are_documented_as_the_wire_carries_them() -> None:
    schemas = document()["components"]["schemas"]
    room = schemas["RoomFrame_Said_"]
    assert {"type", "room", "id", "data"} == set(room["properties"])
    assert {"$ref": "#/components/schemas/Said"} == room["properties"]["data"]


def test_plain_specs_and_hidden_routes() -> None:
    described = realtime_asyncapi(ROUTES[:1])
    assert (["echo"], {}) == ([c.key for c in described.channels], dict(described.security_schemes))
    hidden = [ROUTES[0].__class__(path="/h", name="hidden", include_in_schema=False)]
    assert () == realtime_asyncapi(hidden).channels


@pytest.mark.slow
def test_the_document_validates_with_the_asyncapi_parser() -> None:
    assert [] == parse_asyncapi(document(description="Realtime routes of the test app"))


@pytest.mark.slow
def test_the_parser_finds_errors_in_a_broken_document() -> None:
    broken = document()
    broken["operations"]["echo.send"]["action"] = "shout"
    assert [] != parse_asyncapi(broken)

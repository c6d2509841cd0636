"""Route and room specs refuse what cannot work, when they are built."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel

import mic.realtime
from mic.http import HttpRouterConfig, RouteSpecError
from mic.ratelimit import RateLimitPolicy
from mic.realtime import RealtimeHub, Room, WebSocketRouteSpec, compile_websocket_routes
from tests.realtime.support import Ping, Pong, echo


class Note(BaseModel):
    text: str


def route(**options: Any) -> WebSocketRouteSpec:
    return WebSocketRouteSpec(**({"path": "/ws", "name": "r"} | options))


def test_public_names_are_pinned() -> None:
    public = sorted(
        n
        for n in vars(mic.realtime)
        if not n.startswith("_") and n not in {"annotations", "TYPE_CHECKING", "Any"}
    )
    assert sorted(mic.realtime.__all__) == sorted([*public, "RealtimeServer"])
    for name in mic.realtime.__all__:
        assert getattr(mic.realtime, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = mic.realtime.Nope


def test_typed_placeholders_are_parsed() -> None:
    spec = route(path="/o/{order_id:int}/{ref:uuid}/{name}")
    assert "/o/{order_id}/{ref}/{name}" == spec.path_template
    assert [int, uuid.UUID, str] == list(spec.path_converters.values())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": ""}, "needs a non-empty name"),
        ({"path": "ws"}, "must start with '/'"),
        ({"path": "/{1x}"}, "must be an identifier"),
        ({"path": "/{a}/{a}"}, "appears twice"),
        ({"path": "/{a:float}"}, "is not one of"),
        ({"receives": dict}, "receives must be a pydantic model class"),
        ({"receives": Ping}, "receives is set but on_message is not"),
        ({"on_message": echo}, "on_message needs a receives model"),
        ({"on_connect": "nope"}, "a handler is not callable"),
        ({"on_disconnect": print}, "must be an async function"),
        ({"room": Room("r:{x}", Note)}, "which the path does not provide"),
        ({"max_frame_size": 0}, "max_frame_size must be"),
        ({"send_queue_size": 0}, "send_queue_size must be"),
        ({"token_query_parameter": "a b"}, "token_query_parameter is not a name"),
        ({"subprotocols": ("bearer.x",)}, "invalid subprotocol"),
    ],
)
def test_invalid_routes_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(RouteSpecError, match=message):
        route(**options)


def test_rooms_fill_their_template() -> None:
    room = Room("orders:{order_id}", Note)
    assert ("orders:42", ("order_id",)) == (room.name(order_id=42), room.parameters)
    with pytest.raises(ValueError, match="needs exactly"):
        room.name()
    with pytest.raises(ValueError, match="may only use"):
        room.name(order_id="a b")
    with pytest.raises(ValueError, match="must be an identifier"):
        Room("orders:{1}", Note)
    with pytest.raises(ValueError, match="may only use"):
        Room("orders {x}", Note)
    with pytest.raises(TypeError, match="must be a pydantic model class"):
        Room("orders", dict)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1 to 200 characters"):
        Room("x" * 201, Note)


def test_tags_default_to_the_category() -> None:
    assert (("c",), ("t",), ()) == (
        route(category="c").openapi_tags,
        route(category="c", tags=("t",)).openapi_tags,
        route().openapi_tags,
    )


def test_compiling_checks_the_configuration() -> None:
    hub = RealtimeHub()
    config = HttpRouterConfig(services={RealtimeHub: hub})
    with pytest.raises(RouteSpecError, match="needs a RealtimeHub"):
        compile_websocket_routes([route()])
    with pytest.raises(RouteSpecError, match="no RateLimiter is configured"):
        compile_websocket_routes([route(message_rate_limit=RateLimitPolicy(1, 1))], config)
    with pytest.raises(RouteSpecError, match="two WebSocket routes are named"):
        compile_websocket_routes([route(), route(path="/other")], config)
    with pytest.raises(RouteSpecError, match="two WebSocket routes serve /ws"):
        compile_websocket_routes([route(), route(name="other")], config)
    with pytest.raises(RouteSpecError, match="must start with '/'"):
        compile_websocket_routes([route()], config, prefix="live")
    (compiled,) = compile_websocket_routes(
        [route(receives=Ping, sends=Pong, on_message=echo)], config, prefix="/live"
    )
    assert "CompiledWebSocketRoute('r', /live/ws)" == repr(compiled)

"""`RealtimeClient` builds URLs from specs, sends tokens, and refuses what a spec does not allow."""

from __future__ import annotations

import pytest

from mic.realtime import InMemoryRealtimeBackend, RealtimeClient, RealtimeHub, ReceivedMessage
from tests.realtime.support import ROUTES, Ping, Pong, Say, build_app, serve

ECHO, CHAT = ROUTES[0], ROUTES[1]


def test_urls_are_built_from_the_spec() -> None:
    client = RealtimeClient("ws://host:1/prefix/")
    assert "ws://host:1/prefix/ws/chat/7" == client.url(CHAT, {"room_id": 7})
    with pytest.raises(ValueError, match="needs path parameters"):
        client.url(CHAT, {})
    with pytest.raises(ValueError, match="invalid literal for int"):
        client.url(CHAT, {"room_id": "seven"})
    with pytest.raises(ValueError, match="must be a ws:// or wss:// URL"):
        RealtimeClient("http://host")


async def test_token_source_and_type_checks(framework: str) -> None:
    hub = RealtimeHub(InMemoryRealtimeBackend())
    calls: list[int] = []

    async def token() -> str:
        calls.append(1)
        return "unused-on-a-public-route"

    async with serve(build_app(framework, hub), hub) as (url, _):
        client = RealtimeClient(url, token=token)
        async with await client.connect(ECHO) as session:
            with pytest.raises(TypeError, match="does not receive Say"):
                await session.send(Say(text="x"))
            await session.send(Ping(text="t"))
            assert ReceivedMessage(Pong(text="t", n=1)) == await session.receive()
        async with await client.connect(CHAT, room_id=1) as session:
            await session.send_raw('{"text": "broadcast"}')
            session.route = ECHO.__class__(path="/x", name="chat-without-sends", room=None)
            with pytest.raises(ValueError, match="does not send 'room' frames"):
                await session.receive()
            session.route = CHAT
    assert [1, 1] == calls

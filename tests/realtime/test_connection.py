"""What a handler can do with its `WebSocketConnection`: hooks, rooms, replies, closing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mic.realtime import (
    InMemoryRealtimeBackend,
    RealtimeClient,
    RealtimeClosedError,
    RealtimeHub,
    ReceivedMessage,
)
from tests.realtime.support import (
    DISCONNECTED,
    ROUTES,
    Ping,
    Pong,
    Said,
    build_app,
    serve,
)
from tests.support import eventually

HOOKS = ROUTES[5]


@pytest.fixture
async def served(framework: str) -> AsyncIterator[tuple[RealtimeClient, RealtimeHub]]:
    hub = RealtimeHub(InMemoryRealtimeBackend())
    async with serve(build_app(framework, hub), hub) as (url, _):
        yield RealtimeClient(url), hub


async def test_hooks_rooms_and_replies(served: tuple[RealtimeClient, RealtimeHub]) -> None:
    client, hub = served
    DISCONNECTED.clear()
    async with await client.connect(HOOKS) as session:
        assert ReceivedMessage(Pong(text="welcome anonymous", n=0)) == await session.receive()
        assert 1 == len(hub.local_members("lobby"))
        await session.send(Ping(text="leave"))
        assert ReceivedMessage(Pong(text="-", n=0)) == await session.receive()
        assert frozenset() == hub.local_members("lobby")
        await session.send(Ping(text="who"))
        reply = await session.receive()
        assert isinstance(reply, ReceivedMessage)
        assert reply.data.text.startswith("WebSocketConnection('hooks', id=")
    await eventually(lambda: DISCONNECTED == ["hooks"])


async def test_handler_closing_sends_what_is_queued_first(
    served: tuple[RealtimeClient, RealtimeHub],
) -> None:
    client, _ = served
    session = await client.connect(HOOKS)
    await session.receive()
    await session.send(Ping(text="bye"))
    assert ReceivedMessage(Pong(text="bye", n=0)) == await session.receive()
    assert [] == [m async for m in session]


async def test_a_reply_of_the_wrong_model_is_an_internal_error(
    served: tuple[RealtimeClient, RealtimeHub],
) -> None:
    client, _ = served
    session = await client.connect(HOOKS)
    await session.receive()
    await session.send(Ping(text="wrong"))
    with pytest.raises(RealtimeClosedError, match="1011: internal_error"):
        await session.receive()


async def test_a_domain_error_in_on_connect_closes_with_its_status(
    served: tuple[RealtimeClient, RealtimeHub],
) -> None:
    client, _ = served
    denied = RealtimeClient(client.base_url, headers={"X-Deny": "1"})
    session = await denied.connect(HOOKS)
    with pytest.raises(RealtimeClosedError, match="4403: denied"):
        await session.receive()


async def test_hub_publish_checks_room_and_model(
    served: tuple[RealtimeClient, RealtimeHub],
) -> None:
    _, hub = served
    chat = ROUTES[1].room
    assert chat is not None
    with pytest.raises(TypeError, match="carries Said, not Pong"):
        await hub.publish(chat, Pong(text="x", n=1), room_id=1)
    with pytest.raises(ValueError, match="only for a Room template"):
        await hub.publish("chat:1", Said(text="x", sender="y"), room_id=1)
    with pytest.raises(TypeError, match="must be a pydantic model"):
        await hub.publish("chat:1", {"text": "x"})  # type: ignore[arg-type]
    assert "1-0" == await hub.publish("chat:1", Said(text="x", sender="y"))

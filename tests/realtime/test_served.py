"""WebSocket routes on real uvicorn with a real `websockets` client, the same on both frameworks."""

from __future__ import annotations

import base64
import json
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from mic.auth import ServiceAuthSigner
from mic.observability import InMemoryMetricsBackend
from mic.realtime import (
    InMemoryRealtimeBackend,
    RealtimeClient,
    RealtimeClosedError,
    RealtimeHub,
    RealtimeServer,
    ReceivedBroadcast,
    ReceivedError,
    ReceivedMessage,
)
from tests.realtime.support import (
    API_KEYS,
    FEED,
    ROUTES,
    SIGNER_KEY,
    Blob,
    Ping,
    Pong,
    Say,
    build_app,
    serve,
)
from tests.support import eventually

ECHO, CHAT_ROUTE, FEED_ROUTE, SECURE, KEYED, HOOKS, LIMITED = ROUTES
SIGNER = ServiceAuthSigner(issuer="orders", keys=SIGNER_KEY)


class Served:
    def __init__(self, url: str, hub: RealtimeHub, server: RealtimeServer) -> None:
        self.url = url
        self.hub = hub
        self.server = server
        self.metrics = hub.metrics
        self.client = RealtimeClient(url)
        host, port = url.removeprefix("ws://").split(":")
        self.address = (host, int(port))


@pytest.fixture
async def served(framework: str) -> AsyncIterator[Served]:
    hub = RealtimeHub(InMemoryRealtimeBackend(), metrics=InMemoryMetricsBackend())
    async with serve(build_app(framework, hub), hub) as (url, server):
        yield Served(url, hub, server)


async def closed_with(session: Any) -> RealtimeClosedError:
    """Read until the server closes; return how it closed."""
    while True:
        try:
            await session.receive()
        except RealtimeClosedError as closed:
            return closed


async def test_echo_replies_to_the_sender(served: Served) -> None:
    async with await served.client.connect(ECHO) as session:
        await session.send(Ping(text="hello", n=1))
        assert ReceivedMessage(Pong(text="hello", n=2)) == await session.receive()
    await eventually(lambda: not served.hub.connections)
    metrics = served.metrics
    assert 1.0 == metrics.value("realtime_frames_received_total", {"route": "echo"})
    assert 1.0 == metrics.value("realtime_frames_sent_total", {"route": "echo"})
    assert 1.0 == metrics.value("realtime_disconnects_total", {"route": "echo", "code": "1000"})


async def test_correlation_id_is_echoed_in_the_handshake(served: Served) -> None:
    async with connect(served.url + "/ws/echo") as socket:
        assert socket.response is not None
        correlation = socket.response.headers["x-request-id"]
    assert 32 == len(correlation)


async def test_invalid_message_gets_an_error_frame_and_the_connection_stays(served: Served) -> None:
    async with await served.client.connect(ECHO) as session:
        await session.send_raw('{"text": 3}')
        error = await session.receive()
        assert isinstance(error, ReceivedError)
        assert ("invalid_message", [["text"]]) == (
            error.code,
            [e["loc"] for e in error.details["errors"]],
        )
        await session.send(Ping(text="still here"))
        assert ReceivedMessage(Pong(text="still here", n=1)) == await session.receive()
    assert 1.0 == served.metrics.value(
        "realtime_frames_dropped_total", {"route": "echo", "reason": "invalid_message"}
    )


async def test_domain_error_of_the_handler_is_an_error_frame(served: Served) -> None:
    async with await served.client.connect(ECHO) as session:
        await session.send(Ping(text="conflict"))
        assert ReceivedError("echo_conflict", "This text is refused") == await session.receive()


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        ("not json", 1007, "frame is not JSON"),
        (b"\x00\x01", 1003, "binary frames are not supported"),
        ('{"text": "' + "x" * 2000 + '"}', 1009, "frame of 2012 bytes is over 1024"),
        (b"x" * 2000, 1009, "frame of 2000 bytes is over 1024"),
        ('{"text": "' + "é" * 600 + '"}', 1009, "frame of 1212 bytes is over 1024"),
        ('{"text": "crash"}', 1011, "internal_error"),
    ],
    ids=["not-json", "binary", "oversized-text", "oversized-binary", "oversized-utf8", "crash"],
)
async def test_bad_frames_close_with_their_code(
    served: Served, frame: str | bytes, code: int, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    session = await served.client.connect(ECHO)
    await session.send_raw(frame)
    closed = await closed_with(session)
    assert (code, reason) == (closed.code, closed.reason)


async def test_a_route_without_receives_answers_unexpected_message(served: Served) -> None:
    async with await served.client.connect(FEED_ROUTE, feed_id="f") as session:
        await session.send_raw("{}")
        error = await session.receive()
        assert isinstance(error, ReceivedError)
        assert "unexpected_message" == error.code


async def test_rooms_reach_their_members_only(served: Served) -> None:
    alice = await served.client.connect(CHAT_ROUTE, room_id=1)
    bob = await served.client.connect(CHAT_ROUTE, room_id=1)
    carol = await served.client.connect(CHAT_ROUTE, room_id=2)
    await eventually(lambda: len(served.hub.local_members("chat:1")) == 2)
    await alice.send(Say(text="hi room 1"))
    heard = [await alice.receive(), await bob.receive()]
    assert [("chat:1", "hi room 1")] * 2 == [
        (m.room, m.data.text) for m in heard if isinstance(m, ReceivedBroadcast)
    ]
    await carol.send(Say(text="hi room 2"))
    first = await carol.receive()
    assert isinstance(first, ReceivedBroadcast)
    assert "hi room 2" == first.data.text
    assert ["anonymous"] == await served.hub.members("chat:1")
    for session in (alice, bob, carol):
        await session.close()
    await eventually(lambda: not served.hub.connections)
    assert [] == await served.hub.members("chat:1")


async def test_replay_from_last_id_then_live_without_gap_or_double(served: Served) -> None:
    ids = [await served.hub.publish(FEED, Blob(seq=n, payload="x"), feed_id="r") for n in range(3)]
    session = await served.client.connect(FEED_ROUTE, feed_id="r", last_id=ids[0])
    replayed = [await session.receive(), await session.receive()]
    await served.hub.publish(FEED, Blob(seq=3, payload="x"), feed_id="r")
    live = await session.receive()
    seqs = [m.data.seq for m in (*replayed, live) if isinstance(m, ReceivedBroadcast)]
    assert [1, 2, 3] == seqs
    assert served.client.last_ids["feed:r"] == live.id  # type: ignore[union-attr]
    await session.close()


async def test_invalid_last_id_closes_with_4400(served: Served) -> None:
    session = await served.client.connect(FEED_ROUTE, feed_id="r", last_id="yesterday")
    closed = await closed_with(session)
    assert (4400, "invalid_last_id") == (closed.code, closed.reason)


async def test_path_parameter_of_the_wrong_type_closes_with_4404(served: Served) -> None:
    async with connect(served.url + "/ws/chat/abc") as socket:
        await socket.wait_closed()
        assert socket.close_code == 4404
        assert socket.close_reason == "invalid_path_parameter"


def token(**options: Any) -> str:
    return SIGNER.sign("realtime", **options)


@pytest.mark.parametrize(
    ("options", "code", "reason"),
    [
        ({}, 4401, "missing_credentials"),
        ({"additional_headers": {"Authorization": "Basic eDp5"}}, 4401, "wrong_auth_scheme"),
        ({"additional_headers": {"Authorization": "Bearer not.a.jwt"}}, 4401, "token_malformed"),
        ({"subprotocols": ["bearer.garbage"]}, 4401, "token_malformed"),
        ({"token": {"scopes": ["other"]}}, 4403, "insufficient_scope"),
    ],
    ids=["missing", "wrong-scheme", "malformed", "malformed-subprotocol", "missing-scope"],
)
async def test_auth_failures_close_with_4401_or_4403(
    served: Served, options: dict[str, Any], code: int, reason: str
) -> None:
    if "token" in options:
        options = {"additional_headers": {"Authorization": f"Bearer {token(**options['token'])}"}}
    async with connect(served.url + "/ws/secure", **options) as socket:
        await socket.wait_closed()
        assert (code, reason) == (socket.close_code, socket.close_reason)
    assert frozenset() == served.hub.connections


@pytest.mark.parametrize("transport", ["header", "subprotocol"])
async def test_service_token_by_header_or_subprotocol(served: Served, transport: Any) -> None:
    client = RealtimeClient(served.url, token=token(scopes=["live"]), token_transport=transport)
    async with await client.connect(SECURE) as session:
        await session.send(Ping(text="authed"))
        assert ReceivedMessage(Pong(text="authed", n=1)) == await session.receive()
        assert (transport == "subprotocol") == (session.subprotocol or "").startswith("bearer.")
    (connection_subject,) = {c.identity.subject for c in served.hub.connections} or {"orders"}
    assert "orders" == connection_subject


async def test_token_in_the_query_only_where_allowed(served: Served) -> None:
    allowed = f"{served.url}/ws/secure?access_token={token(scopes=['live'])}"
    async with connect(allowed) as socket:
        await socket.send('{"text": "q"}')
        assert '{"type":"message","data":{"text":"q","n":1}}' == await socket.recv()
    issued = await API_KEYS.create("robot")
    refused = f"{served.url}/ws/keyed?access_token={issued.secret}"
    async with connect(refused) as socket:
        await socket.wait_closed()
        assert (4401, "missing_credentials") == (socket.close_code, socket.close_reason)


async def test_api_key_by_header_or_subprotocol(served: Served) -> None:
    issued = await API_KEYS.create("robot")
    headers = {"X-API-Key": issued.secret}
    async with connect(served.url + "/ws/keyed", additional_headers=headers) as socket:
        await socket.send('{"text": "k"}')
        assert '{"type":"message","data":{"text":"k","n":1}}' == await socket.recv()
    async with connect(
        served.url + "/ws/keyed", subprotocols=[f"bearer.{issued.secret}"]
    ) as socket:  # type: ignore[list-item]
        await socket.send('{"text": "k"}')
        assert '{"type":"message","data":{"text":"k","n":1}}' == await socket.recv()


async def test_a_token_that_expires_closes_the_connection(served: Served) -> None:
    client = RealtimeClient(served.url, token=token(scopes=["live"], lifetime=1.0))
    session = await client.connect(SECURE)
    closed = await closed_with(session)
    assert (4401, "token_expired") == (closed.code, closed.reason)


async def test_message_rate_limit_answers_rate_limited(served: Served) -> None:
    async with await served.client.connect(LIMITED) as session:
        for n in range(3):
            await session.send(Ping(text="x", n=n))
            assert isinstance(await session.receive(), ReceivedMessage)
        await session.send(Ping(text="x"))
        error = await session.receive()
        assert isinstance(error, ReceivedError)
        assert "rate_limited" == error.code
        assert error.details["retry_after"] > 0


async def test_a_slow_consumer_is_disconnected_and_others_get_everything(served: Served) -> None:
    fast = await served.client.connect(FEED_ROUTE, feed_id="slow")
    # A small receive buffer turns off the kernel's autotuning (up to 32 MiB here), so the
    # client's backlog reaches the server within a few megabytes.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.connect(served.address)
    slow = await connect(served.url + "/ws/feed/slow", max_queue=1, sock=sock)
    await eventually(lambda: len(served.hub.local_members("feed:slow")) == 2)
    dropped = {"route": "feed", "reason": "slow_consumer"}
    sent = 0
    while not served.metrics.value("realtime_frames_dropped_total", dropped):
        # Random text: permessage-deflate would shrink a repeated payload to nothing.
        payload = base64.b64encode(os.urandom(65536)).decode()
        await served.hub.publish(FEED, Blob(seq=sent, payload=payload), feed_id="slow")
        received = await fast.receive()
        assert isinstance(received, ReceivedBroadcast)
        assert sent == received.data.seq
        sent += 1
        assert sent < 2000, "the slow client was never disconnected"
    seqs = []
    while True:
        try:
            seqs.append(json.loads(await slow.recv())["data"]["seq"])
        except ConnectionClosed:
            break
    assert seqs == list(range(len(seqs)))
    assert (1008, "slow_consumer") == (slow.close_code, slow.close_reason)
    await fast.close()


async def test_server_shutdown_closes_with_going_away(served: Served) -> None:
    session = await served.client.connect(ECHO)
    await eventually(lambda: len(served.hub.connections) == 1)
    served.server.should_exit = True
    closed = await closed_with(session)
    assert (1001, "server shutting down", True) == (closed.code, closed.reason, closed.going_away)


async def test_a_closing_hub_refuses_new_connections(served: Served) -> None:
    await served.hub.close()
    session = await served.client.connect(ECHO)
    closed = await closed_with(session)
    assert 1001 == closed.code


async def test_plain_http_on_a_websocket_path_is_426(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url.replace("ws://", "http://")) as http:
        response = await http.get("/ws/echo")
    assert (426, "application/problem+json", "websocket") == (
        response.status_code,
        response.headers["content-type"],
        response.headers["upgrade"],
    )
    assert "upgrade_required" == response.json()["code"]


async def test_same_frames_on_both_frameworks() -> None:
    """The exact bytes of every kind of frame, compared across adapters."""
    transcripts = []
    for framework in ("fastapi", "litestar"):
        hub = RealtimeHub(InMemoryRealtimeBackend())
        async with serve(build_app(framework, hub), hub) as (url, _):
            async with connect(url + "/ws/chat/7") as socket:
                frames = []
                for raw in ('{"text": "a"}', '{"text": 1}', "[]"):
                    await socket.send(raw)
                    frames.append(await socket.recv())
                frames[0] = frames[0].replace(frames[0].split('"sender":"')[1][:32], "<id>")
            transcripts.append(frames)
    assert transcripts[0] == transcripts[1]
    assert (
        transcripts[0][0]
        == '{"type":"room","room":"chat:7","id":"1-0","data":{"text":"a","sender":"<id>"}}'
    )

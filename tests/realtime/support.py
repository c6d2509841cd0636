"""Routes, apps and a real uvicorn server for the realtime tests, the same on both frameworks."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

import uvicorn
from pydantic import BaseModel

from mic.auth import ApiKeyAuth, ApiKeyStore, InMemoryApiKeyStore, ServiceAuth, ServiceAuthVerifier
from mic.http import HttpRouterConfig
from mic.model import ConflictError, ForbiddenError
from mic.ratelimit import InMemoryRateLimiter, RateLimiter, RateLimitPolicy
from mic.realtime import (
    ConnectionClosedError,
    RealtimeHub,
    RealtimeServer,
    RedisStreamsRealtimeBackend,
    Room,
    WebSocketConnection,
    WebSocketRouteSpec,
)
from tests.auth.keys import key
from tests.support import eventually


class Ping(BaseModel):
    text: str
    n: int = 0


class Pong(BaseModel):
    text: str
    n: int


class Say(BaseModel):
    text: str


class Said(BaseModel):
    text: str
    sender: str


class Blob(BaseModel):
    seq: int
    payload: str


async def echo(connection: WebSocketConnection, message: Ping) -> Pong:
    if message.text == "conflict":
        raise ConflictError("echo_conflict", "This text is refused")
    if message.text == "crash":
        raise RuntimeError("handler bug")
    return Pong(text=message.text, n=message.n + 1)


async def say(connection: WebSocketConnection, message: Say) -> None:
    await connection.publish(
        CHAT,
        Said(text=message.text, sender=connection.id),
        room_id=connection.path_params["room_id"],
    )


async def welcome(connection: WebSocketConnection) -> None:
    if connection.headers.get("x-deny"):
        raise ForbiddenError("denied", "Not today")
    await connection.join("lobby")
    await connection.send(Pong(text=f"welcome {connection.member.partition('#')[0]}", n=0))


async def hooks_message(connection: WebSocketConnection, message: Ping) -> Any:
    if message.text == "leave":
        await connection.leave("lobby")
        await connection.leave("lobby")
        return Pong(text=",".join(sorted(connection.rooms)) or "-", n=0)
    if message.text == "wrong":
        return Said(text="not a pong", sender="x")
    if message.text == "bye":
        await connection.send(Pong(text="bye", n=0))
        await connection.close(1000, "bye")
        with contextlib.suppress(ConnectionClosedError):
            await connection.send(Pong(text="never", n=0))
        return None
    return Pong(text=repr(connection), n=len(connection.state))


DISCONNECTED: list[str] = []


async def goodbye(connection: WebSocketConnection) -> None:
    DISCONNECTED.append(connection.route_name)
    raise RuntimeError("a failing on_disconnect is logged, not raised")


CHAT = Room("chat:{room_id}", Said, description="Everyone in one chat room.")
FEED = Room("feed:{feed_id}", Blob)

SIGNER_KEY = key("EdDSA")
VERIFIER = ServiceAuthVerifier(audience="realtime", issuers=["orders"], keys=[SIGNER_KEY])
API_KEYS = InMemoryApiKeyStore()

ROUTES: tuple[WebSocketRouteSpec, ...] = (
    WebSocketRouteSpec(
        path="/ws/echo",
        name="echo",
        receives=Ping,
        sends=Pong,
        on_message=echo,
        max_frame_size=1024,
        category="test",
    ),
    WebSocketRouteSpec(
        path="/ws/chat/{room_id:int}", name="chat", receives=Say, on_message=say, room=CHAT
    ),
    WebSocketRouteSpec(path="/ws/feed/{feed_id}", name="feed", room=FEED, send_queue_size=8),
    WebSocketRouteSpec(
        path="/ws/secure",
        name="secure",
        receives=Ping,
        sends=Pong,
        on_message=echo,
        auth=ServiceAuth(scopes=["live"]),
        token_query_parameter="access_token",
    ),
    WebSocketRouteSpec(
        path="/ws/keyed",
        name="keyed",
        receives=Ping,
        sends=Pong,
        on_message=echo,
        auth=ApiKeyAuth(),
    ),
    WebSocketRouteSpec(
        path="/ws/hooks",
        name="hooks",
        receives=Ping,
        sends=Pong,
        on_message=hooks_message,
        on_connect=welcome,
        on_disconnect=goodbye,
    ),
    WebSocketRouteSpec(
        path="/ws/limited",
        name="limited",
        receives=Ping,
        sends=Pong,
        on_message=echo,
        message_rate_limit=RateLimitPolicy(3, 3600),
    ),
)


def config(hub: RealtimeHub) -> HttpRouterConfig:
    return HttpRouterConfig(
        services={
            RealtimeHub: hub,
            ServiceAuthVerifier: VERIFIER,
            ApiKeyStore: API_KEYS,
            RateLimiter: InMemoryRateLimiter(),
        }
    )


def build_app(
    framework: str, hub: RealtimeHub, routes: Sequence[WebSocketRouteSpec] = ROUTES
) -> Any:
    """The `framework` app serving `routes` through the public builders."""
    if framework == "fastapi":
        from fastapi import FastAPI

        from mic.fastapi import build_fastapi_realtime_router

        app = FastAPI()
        app.include_router(build_fastapi_realtime_router(routes=routes, config=config(hub)))
        return app
    from litestar import Litestar

    from mic.litestar import build_litestar_realtime_router

    router = build_litestar_realtime_router(routes=routes, config=config(hub))
    return Litestar(route_handlers=[router], logging_config=None)


@contextlib.asynccontextmanager
async def serve(app: Any, hub: RealtimeHub) -> AsyncIterator[tuple[str, RealtimeServer]]:
    """Serve `app` with real uvicorn on a free loopback port; yield its ``ws://`` URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="error", lifespan="off", ws="websockets-sansio"
    )
    server = RealtimeServer(config, hubs=[hub])
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        await task


def worker_app() -> Any:
    """A worker process's app, for the two-worker Redis test (``uvicorn --factory``)."""
    backend = RedisStreamsRealtimeBackend.from_url(
        os.environ["MIC_RT_REDIS_URL"], prefix=os.environ["MIC_RT_PREFIX"]
    )
    return build_app(os.environ["MIC_RT_FRAMEWORK"], RealtimeHub(backend))

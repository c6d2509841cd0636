"""`RealtimeHub` on its own: presence refresh, handshake policies, closing."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from litestar import Litestar

from mic.fastapi import build_fastapi_realtime_router
from mic.http import Endpoint, HttpRequestContext, HttpResponse, HttpRouterConfig, RouteInterceptor
from mic.litestar import build_litestar_realtime_router
from mic.observability import CorrelationIdInterceptor, InMemoryMetricsBackend, LogContextFilter
from mic.ratelimit import RateLimit
from mic.realtime import (
    InMemoryRealtimeBackend,
    RealtimeClient,
    RealtimeClosedError,
    RealtimeHub,
    RedisStreamsRealtimeBackend,
    WebSocketConnection,
    WebSocketRouteSpec,
)
from tests.realtime.support import Ping, Pong, build_app, serve
from tests.support import eventually


@dataclass(frozen=True)
class Member:
    member: str


@pytest.mark.redis
async def test_presence_is_refreshed_while_members_stay(redis_url: str) -> None:
    clock = [1_000.0]
    backend = RedisStreamsRealtimeBackend.from_url(
        redis_url,
        prefix=f"test:rt:{uuid.uuid4().hex}:",
        presence_ttl=0.3,
        clock=lambda: clock[0],
    )
    hub = RealtimeHub(backend)
    alice = Member("alice#1")
    await hub.attach(alice, "lobby")  # type: ignore[arg-type]
    clock[0] += 10  # long past the first expiry: only a refresh keeps alice present
    await eventually(lambda: hub._presence is not None)
    # The hub's refresh task (every 0.1 s here) writes the presence.
    await eventually(lambda: hub.members("lobby"), what="alice present")
    assert ["alice"] == await hub.members("lobby")
    await hub.detach(alice, "lobby")  # type: ignore[arg-type]
    await hub.detach(alice, "lobby")  # type: ignore[arg-type]
    assert [] == await hub.members("lobby")
    await hub.close()
    await backend.client.delete(backend._presence_key("lobby"))
    await backend.close()


class Exploding(RouteInterceptor):
    def bind(self, route: Any, config: Any) -> Any:
        async def explode(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            raise RuntimeError("interceptor bug")

        return explode


ROUTES = (
    WebSocketRouteSpec(
        path="/ws/limited-connects", name="connects", rate_limit=RateLimit(limit=1, period=3600)
    ),
    WebSocketRouteSpec(path="/ws/broken", name="broken", interceptors=(Exploding(),)),
)


@pytest.fixture
async def served(framework: str) -> AsyncIterator[tuple[RealtimeClient, RealtimeHub]]:
    hub = RealtimeHub(InMemoryRealtimeBackend(), metrics=InMemoryMetricsBackend())
    async with serve(build_app(framework, hub, ROUTES), hub) as (url, _):
        yield RealtimeClient(url), hub


async def test_connection_attempts_over_the_rate_limit_close_with_4429(
    served: tuple[RealtimeClient, RealtimeHub],
) -> None:
    client, hub = served
    first = await client.connect(ROUTES[0])
    second = await client.connect(ROUTES[0])
    with pytest.raises(RealtimeClosedError, match="4429: rate_limited"):
        await second.receive()
    await first.close()
    assert 1.0 == hub.metrics.value(  # type: ignore[attr-defined]
        "realtime_handshakes_refused_total", {"route": "connects", "code": "rate_limited"}
    )


async def test_an_interceptor_failure_closes_with_1011(
    served: tuple[RealtimeClient, RealtimeHub], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = served
    session = await client.connect(ROUTES[1])
    with pytest.raises(RealtimeClosedError, match="1011: internal_error"):
        await session.receive()
    assert "WebSocket handshake of route broken failed" in caplog.text


async def logged_echo(connection: WebSocketConnection, message: Ping) -> Pong:
    logging.getLogger("tests.realtime").info("handling %s", message.text)
    return Pong(text=message.text, n=0)


async def test_every_frame_logs_with_the_handshake_correlation_id(
    framework: str, caplog: pytest.LogCaptureFixture
) -> None:
    route = WebSocketRouteSpec(
        path="/ws/logged", name="logged", receives=Ping, sends=Pong, on_message=logged_echo
    )
    hub = RealtimeHub()
    config = HttpRouterConfig(
        services={RealtimeHub: hub}, interceptors=(CorrelationIdInterceptor(),)
    )
    if framework == "fastapi":
        app: Any = FastAPI()
        app.include_router(build_fastapi_realtime_router(routes=[route], config=config))
    else:
        router = build_litestar_realtime_router(routes=[route], config=config)
        app = Litestar([router], logging_config=None)
    caplog.handler.addFilter(LogContextFilter())
    caplog.set_level(logging.DEBUG)
    async with serve(app, hub) as (url, _):
        client = RealtimeClient(url, headers={"X-Request-ID": "corr-123"})
        async with await client.connect(route) as session:
            await session.send(Ping(text="one"))
            await session.receive()
    lines = [r for r in caplog.records if r.name in ("mic.realtime", "tests.realtime")]
    assert ["frame received on logged (20 characters)", "handling one"] == [
        r.getMessage() for r in lines
    ]
    assert {"corr-123"} == {r.correlation_id for r in lines}  # type: ignore[attr-defined]

"""Test helpers: one HTTP test against every adapter (parity is the test strategy), polling."""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import pytest

from mic._waiting import Poller
from mic.http import HttpRouterConfig, HttpRouteSpec

FRAMEWORKS = ("fastapi", "litestar")


def build_app(
    framework: str,
    routes: Sequence[HttpRouteSpec],
    config: HttpRouterConfig | None = None,
    prefix: str = "",
) -> Any:
    """The one-call app of `framework` serving `routes`."""
    if framework == "fastapi":
        from mic.fastapi import build_fastapi_app

        return build_fastapi_app(routes=routes, config=config, prefix=prefix)
    from mic.litestar import build_litestar_app

    return build_litestar_app(routes=routes, config=config, prefix=prefix)


def client_for(app: Any, client: tuple[str, int] = ("127.0.0.1", 50000)) -> httpx.AsyncClient:
    """An in-process client for an ASGI app (no network)."""
    transport = httpx.ASGITransport(app=app, client=client)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def make_client(
    framework: str,
    routes: Sequence[HttpRouteSpec],
    config: HttpRouterConfig | None = None,
    prefix: str = "",
) -> httpx.AsyncClient:
    """An in-process client for the `framework` app serving `routes`."""
    return client_for(build_app(framework, routes, config, prefix))


def wire(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """What went over the wire, for byte-for-byte comparisons across adapters."""
    return response.status_code, sorted(response.headers.multi_items()), response.content


def served_openapi(app: Any) -> dict[str, Any]:
    """The OpenAPI document an app serves at ``/openapi.json`` (both adapters serve it there)."""
    import asyncio

    async def fetch() -> dict[str, Any]:
        async with client_for(app) as client:
            response = await client.get("/openapi.json")
        assert response.status_code == 200
        document: dict[str, Any] = response.json()
        return document

    return asyncio.run(fetch())


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float = 10.0, what: str = ""
) -> None:
    """Poll `condition` (sync or async) until it holds; fail after `within` seconds.

    For state that another task, process or server changes without any event to wait on
    (a key a Redis TTL removes, rows another dispatcher publishes). The polls back off from
    5 ms to 50 ms (`mic._waiting.Poller`); `within` is a deadline, never a wait.
    """
    poller = Poller(interval=0.005, growth=1.5, max_interval=0.05, budget=within)
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if not await poller.wait():
            pytest.fail(f"not true within {within} s: {what or condition}")


class FakeClock:
    """A clock the test moves by hand; its `sleep` advances it instead of waiting.

    Pass the instance as a ``clock`` (it is callable) and `sleep` as a ``sleep``; `slept`
    records every sleep, so a test can count the rounds of a loop that sleeps between them.
    """

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the sleep, move the clock, and yield once to the other tasks."""
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def redis_outlived(client: Any, prefix: str, seconds: float) -> None:
    """Wait (polling, with a deadline) until Redis dropped every key under `prefix` that had
    at most `seconds` left to live.

    Redis expires keys on its own clock (``PX``), which no test can move: this is how a test
    lets a short server-side TTL run out without sleeping a fixed time. Keys without a TTL
    and keys living longer are left alone, so a TTL that was never set (or was extended)
    shows up as the key staying.
    """

    async def outlived() -> bool:
        left = [await client.pttl(key) async for key in client.scan_iter(match=f"{prefix}*")]
        return all(ms < 0 or ms > seconds * 1000 for ms in left)  # -1: no TTL, -2: gone

    await eventually(outlived, what=f"Redis expired the keys of {prefix} living <= {seconds} s")


class StampMiddleware:
    """A plain ASGI middleware: every answer gets `x-stamp: yes` (it must wrap mic routes)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def stamped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-stamp", b"yes")]
            await send(message)

        await self.app(scope, receive, stamped)

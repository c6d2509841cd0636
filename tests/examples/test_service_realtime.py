"""The demo pushes each item change, as the outbox delivers it, to `/ws/items` subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from examples.service import ITEMS_LIVE, build_service

from mic.realtime import RealtimeClient, ReceivedBroadcast
from mic.testing import memory_settings
from tests.support import eventually


@contextlib.asynccontextmanager
async def _served(app: Any) -> AsyncIterator[str]:
    """Real uvicorn with the app's lifespan (the Service starts and stops with it)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_item_changes_reach_subscribers_through_the_outbox(framework: str) -> None:
    item_id = uuid.UUID(int=7)
    service = build_service(memory_settings(), new_id=lambda: item_id)
    async with _served(service.build_app(framework)) as address:
        live = await RealtimeClient(f"ws://{address}").connect(ITEMS_LIVE)
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            assert 201 == (await http.post("/items", json={"name": "bolt"})).status_code
            assert 204 == (await http.delete(f"/items/{item_id}")).status_code
        changes = [await live.receive(), await live.receive()]
        await live.close()
    assert [(item_id, "created"), (item_id, "deleted")] == [
        (change.data.item_id, change.data.change)
        for change in changes
        if isinstance(change, ReceivedBroadcast)
    ]


async def test_the_live_channel_is_refused_to_plain_http(framework: str) -> None:
    """A plain GET of a WebSocket path is a 426 problem on both frameworks."""
    service = build_service(memory_settings())
    async with _served(service.build_app(framework)) as address, httpx.AsyncClient() as http:
        answer = await http.get(f"http://{address}/ws/items")
    assert 426 == answer.status_code
    assert "application/problem+json" == answer.headers["content-type"]

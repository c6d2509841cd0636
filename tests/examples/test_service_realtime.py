"""The example service pushes item changes to `/ws/items` subscribers, on both frameworks."""

from __future__ import annotations

import uuid

import httpx
from examples.service import ITEMS_LIVE, create_app

from mic.realtime import RealtimeClient, RealtimeHub, ReceivedBroadcast
from tests.realtime.support import serve


async def test_item_changes_reach_subscribers(framework: str) -> None:
    app = create_app(framework, new_id=lambda: uuid.UUID(int=7))
    # The app's own hub is internal to it; this one only takes part in the server's shutdown.
    async with serve(app, RealtimeHub()) as (url, _):
        live = await RealtimeClient(url).connect(ITEMS_LIVE)
        async with httpx.AsyncClient(base_url=url.replace("ws://", "http://")) as http:
            created = await http.post("/items", json={"name": "bolt", "quantity": 3})
            assert 201 == created.status_code
            await http.delete(f"/items/{uuid.UUID(int=7)}")
        changes = [await live.receive(), await live.receive()]
        await live.close()
    assert [("created", "bolt"), ("deleted", None)] == [
        (c.data.change, c.data.item and c.data.item.name)
        for c in changes
        if isinstance(c, ReceivedBroadcast)
    ]

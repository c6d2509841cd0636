"""One GET to an ASGI app, in process: how ``mic openapi`` reads the document an app serves."""

from __future__ import annotations

import asyncio
from typing import Any


async def asgi_get(app: Any, path: str) -> tuple[int, bytes]:
    """Status and body of ``GET path`` answered by `app` (no server, no lifespan).

    The lifespan is not run: reading a document must not need the service's database or
    broker. An app whose routes are only built at startup is therefore not supported.
    """
    finished = asyncio.Event()
    requested = False
    status = 0
    body = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "server": ("localhost", 80),
        "headers": [(b"host", b"localhost"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 0),
        "state": {},
    }
    await app(scope, receive, send)
    finished.set()
    return status, bytes(body)

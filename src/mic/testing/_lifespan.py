"""Run an ASGI app's lifespan and talk to it in process, on any framework."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mic._deps import require
from mic._errors import MicError


class LifespanError(MicError, RuntimeError):
    """The app reported a failed startup or shutdown (its message is the app's)."""


@asynccontextmanager
async def run_lifespan(app: Any) -> AsyncIterator[None]:
    """Send the ASGI lifespan ``startup`` to `app`, yield, then send ``shutdown``.

    Raises:
        LifespanError: The app answered ``startup.failed`` or ``shutdown.failed``.
    """
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send(message: dict[str, Any]) -> None:
        await outbox.put(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, send))
    try:
        await inbox.put({"type": "lifespan.startup"})
        await _expect(outbox, task, "startup")
        yield
        await inbox.put({"type": "lifespan.shutdown"})
        await _expect(outbox, task, "shutdown")
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _expect(
    outbox: asyncio.Queue[dict[str, Any]], task: asyncio.Task[Any], phase: str
) -> None:
    reply = asyncio.ensure_future(outbox.get())
    await asyncio.wait({reply, task}, return_when=asyncio.FIRST_COMPLETED)
    if not reply.done():
        reply.cancel()
        error = task.exception()
        raise LifespanError(f"the app ended during {phase}: {error!r}")
    message = reply.result()
    if message["type"] == f"lifespan.{phase}.failed":
        raise LifespanError(message.get("message") or f"lifespan {phase} failed")


@asynccontextmanager
async def app_client(app: Any, *, base_url: str = "http://testserver") -> AsyncIterator[Any]:
    """An ``httpx.AsyncClient`` on `app` in process, with the app's lifespan run around it.

    Raises:
        LifespanError: The app's startup failed.
        MissingDependencyError: httpx is not installed (extra ``client``).
    """
    httpx = require("httpx", "client")
    async with run_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client

"""The cheap round trips behind the backends' ``ping()``: one home for each kind of server.

A backend's ``ping`` reuses its own client or engine (no connection per check) and raises
when the server does not answer; `mic.healthcheck.ping_probe` turns it into a readiness
probe with a name and a timeout.
"""

from __future__ import annotations

from typing import Any


async def ping_sql(engine: Any) -> None:
    """``SELECT 1`` on a pooled connection of `engine`, an ``AsyncEngine``."""
    from sqlalchemy import text

    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def ping_redis(client: Any) -> None:
    """``PING`` on `client`, a ``redis.asyncio.Redis`` whose pool is reused.

    Raises:
        ConnectionError: The server answered something other than ``PONG``.
    """
    if await client.ping() is not True:
        raise ConnectionError("Redis did not answer PING with PONG")


async def ping_nats(client: Any) -> None:
    """A PING/PONG round trip on `client`, a connected ``nats.aio.client.Client``.

    Raises:
        ConnectionError: The client is not connected.
    """
    if not client.is_connected:
        raise ConnectionError("the NATS client is not connected")
    await client.flush()

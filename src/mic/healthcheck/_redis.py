"""Readiness probe for Redis: ``PING`` through redis.asyncio."""

from __future__ import annotations

from typing import Any

from mic._deps import require
from mic.healthcheck._checker import Probe


def redis_probe(
    target: Any, *, name: str = "redis", timeout: float = 2.0, required: bool = True
) -> Probe:
    """A probe sending ``PING``.

    Args:
        target: A ``redis.asyncio.Redis`` client (its pool is reused), or a URL (a client
            is opened and closed on each check).
        name: Probe name.
        timeout: Seconds before the probe counts as timed out.
        required: Whether a failure makes the service not ready.

    Raises:
        MissingDependencyError: redis is not installed (extra ``redis``).
    """
    redis_asyncio = require("redis.asyncio", "redis")

    async def check() -> object:
        if not isinstance(target, str):
            return await target.ping()
        client = redis_asyncio.from_url(target, socket_connect_timeout=timeout)
        try:
            return await client.ping()
        finally:
            await client.aclose()

    return Probe(name, check, timeout=timeout, required=required)

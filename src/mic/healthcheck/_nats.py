"""Readiness probe for NATS: a round trip (``flush``) through nats-py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mic._deps import require
from mic.healthcheck._checker import Probe


def nats_probe(
    target: Any, *, name: str = "nats", timeout: float = 2.0, required: bool = True
) -> Probe:
    """A probe doing a PING/PONG round trip with the NATS server.

    Args:
        target: A connected ``nats.aio.client.Client`` (reused), or a server URL or list
            of URLs (a connection is opened, flushed and closed on each check).
        name: Probe name.
        timeout: Seconds before the probe counts as timed out.
        required: Whether a failure makes the service not ready.

    Raises:
        MissingDependencyError: nats-py is not installed (extra ``nats``).
    """
    nats = require("nats", "nats")

    async def check() -> None:
        if not isinstance(target, str | Sequence):
            if not target.is_connected:
                raise ConnectionError("the NATS client is not connected")
            await target.flush(timeout=timeout)
            return
        servers = [target] if isinstance(target, str) else list(target)
        client = await nats.connect(
            servers=servers,
            connect_timeout=timeout,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=_quiet,
        )
        try:
            await client.flush(timeout=timeout)
        finally:
            await client.close()

    return Probe(name, check, timeout=timeout, required=required)


async def _quiet(error: Exception) -> None:
    # The probe reports the failure itself; nats-py would otherwise log every attempt.
    del error

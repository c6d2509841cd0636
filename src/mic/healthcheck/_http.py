"""Readiness probe for an HTTP dependency, through httpx."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from mic._deps import require
from mic.healthcheck._checker import Probe, ProbeFailedError


def http_probe(
    url: str,
    *,
    client: Any = None,
    name: str = "http",
    expected_status: Container[int] = range(200, 400),
    timeout: float = 2.0,
    required: bool = True,
) -> Probe:
    """A probe sending ``GET url`` and accepting `expected_status`.

    Args:
        url: The dependency's health URL (absolute, or relative to `client`'s base URL).
        client: An ``httpx.AsyncClient`` to reuse; a short-lived one per check otherwise.
        name: Probe name.
        expected_status: Statuses that mean "up" (2xx and 3xx by default).
        timeout: Seconds before the probe counts as timed out.
        required: Whether a failure makes the service not ready.

    Raises:
        MissingDependencyError: httpx is not installed (extra ``client``).
    """
    httpx = require("httpx", "client")

    async def check() -> None:
        if client is not None:
            response = await client.get(url, timeout=timeout)
        else:
            async with httpx.AsyncClient(timeout=timeout) as own:
                response = await own.get(url)
        if response.status_code not in expected_status:
            raise ProbeFailedError(f"probe {name!r}: HTTP {response.status_code}")

    return Probe(name, check, timeout=timeout, required=required)

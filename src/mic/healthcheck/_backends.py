"""What the toolkit's own backends build their ``probe()`` method from.

A backend imports this module inside its ``probe`` method, never at import time, so
`mic.healthcheck` never depends on the backends and ``import mic.cache`` never loads the
HTTP layer. Every probe here reuses the backend's client or engine: no connection per check.
"""

from __future__ import annotations

from typing import Any

from mic.healthcheck._checker import DEFAULT_PROBE_TIMEOUT, Probe, ProbeCheck
from mic.healthcheck._redis import redis_probe
from mic.healthcheck._sql import sql_probe


def _timeout(timeout: float | None) -> float:
    return DEFAULT_PROBE_TIMEOUT if timeout is None else timeout


def _name(name: str | None, default: str) -> str:
    # ``None`` means "the backend's name"; an empty string is passed on so `Probe` rejects it.
    return default if name is None else name


async def _nothing_to_reach() -> None:
    """An in-process backend has no server to reach: it is ready while the process runs."""


def backend_probe(
    check: ProbeCheck,
    default_name: str,
    *,
    name: str | None,
    required: bool,
    timeout: float | None,
) -> Probe:
    """A probe running `check`, named `default_name` unless `name` is given."""
    return Probe(_name(name, default_name), check, timeout=_timeout(timeout), required=required)


def in_process_probe(
    default_name: str, *, name: str | None, required: bool, timeout: float | None
) -> Probe:
    """A probe that is always up, for backends that keep their state in this process.

    It exists so that swapping an in-memory backend for a Redis or SQL one needs no change
    to the readiness checker, and so that the probe keeps its name across the swap.
    """
    return backend_probe(_nothing_to_reach, default_name, name=name, required=required,
                         timeout=timeout)  # fmt: skip


def redis_client_probe(
    client: Any, default_name: str, *, name: str | None, required: bool, timeout: float | None
) -> Probe:
    """``PING`` on `client`, a ``redis.asyncio.Redis`` whose pool is reused."""
    return redis_probe(client, name=_name(name, default_name), timeout=_timeout(timeout),
                       required=required)  # fmt: skip


def sql_engine_probe(
    engine: Any, default_name: str, *, name: str | None, required: bool, timeout: float | None
) -> Probe:
    """``SELECT 1`` on a pooled connection of `engine`, an ``AsyncEngine``."""
    return sql_probe(engine, name=_name(name, default_name), timeout=_timeout(timeout),
                     required=required)  # fmt: skip

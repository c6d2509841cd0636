"""`ping_probe`: the one way a backend's ``ping()`` becomes a readiness probe.

Backends know nothing of `mic.healthcheck`: each offers a cheap ``async def ping() -> None``
that raises when its server does not answer (in-process backends always answer), and a
``probe_name`` class attribute. This module adds the name, the timeout and the required flag,
so the answer of ``/ready`` keeps the same keys whichever backend is configured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from mic.healthcheck._checker import DEFAULT_PROBE_TIMEOUT, Probe


@runtime_checkable
class Pingable(Protocol):
    """A resource with a cheap readiness round trip (every toolkit backend is one)."""

    def ping(self) -> Awaitable[None]:
        """Return normally when the resource can serve; raise when it cannot."""
        ...  # pragma: no cover - a protocol has no body


def ping_probe(
    resource: Pingable,
    *,
    name: str | None = None,
    required: bool = True,
    timeout: float | None = None,
) -> Probe:
    """A readiness probe that awaits ``resource.ping()``.

    Each check reuses the resource's own client or engine (no connection per check), and
    the readiness answer names only the exception type, never a server URL.

    Args:
        resource: Any object with an ``async def ping()``; toolkit backends also carry a
            ``probe_name`` (``storage``, ``cache``, ``eventbus``, ``lock``, ``ratelimit``,
            ``idempotency``, ``outbox``, ``api_keys``, ``jwks``).
        name: Key in the readiness answer (default: the resource's ``probe_name``).
        required: Whether a failure makes the service not ready (optional probes only
            degrade it).
        timeout: Seconds before the probe counts as timed out (default 2).

    Raises:
        TypeError: `resource` has no ``ping`` method.
        ValueError: No name (neither `name` nor ``probe_name``), an empty `name`, or a
            non-positive `timeout`.
    """
    ping: Callable[[], Awaitable[None]] | None = getattr(resource, "ping", None)
    if not callable(ping):
        raise TypeError(f"{type(resource).__name__} has no ping() method to probe")
    if name is None:
        name = getattr(resource, "probe_name", None)
        if not isinstance(name, str):
            raise ValueError(f"{type(resource).__name__} has no probe_name: pass name=")

    async def check() -> None:
        await ping()

    return Probe(
        name,
        check,
        timeout=DEFAULT_PROBE_TIMEOUT if timeout is None else timeout,
        required=required,
    )

"""`RemoteJwks`: a verifier's cached view of a signer's JWKS URL.

Keys are fetched with httpx (extra ``client``) the first time they are needed, cached for
`max_age`, refreshed when a token names an unknown ``kid`` (at most once per `cooldown`,
so garbage tokens cannot turn the verifier into a request amplifier), and the last good set
is kept when a refresh fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from mic._checks import check_duration
from mic._deps import require
from mic.auth._keys import ServiceKey
from mic.model import TransientError

if TYPE_CHECKING:
    import httpx


logger = logging.getLogger("mic.auth")


class RemoteJwks:
    """Public keys read from a JWKS URL, cached, refreshed on demand.

    Args:
        url: The JWKS document's URL (``https://issuer/.well-known/jwks.json``).
        http_client: The httpx client to use; by default one is created and owned here.
        max_age: Seconds a fetched set is used before it is fetched again.
        cooldown: Minimum seconds between two fetches triggered by an unknown ``kid``
            or a failure.
        timeout: Seconds one fetch may take.
        clock: Monotonic clock in seconds (injectable for tests).

    Raises:
        ValueError: A bad URL or non-positive durations.

    Safe to share between concurrent requests on one event loop: one fetch runs at a time
    (in a task of its own, so a cancelled caller does not cancel it), and callers waiting on
    it reuse its result. Symmetric (``oct``) keys in the document are
    ignored: a shared secret must never travel in a public key set.
    """

    def __init__(
        self,
        url: str,
        *,
        http_client: httpx.AsyncClient | None = None,
        max_age: float = 300.0,
        cooldown: float = 30.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"JWKS url {url!r} must be an http(s) URL")
        check_duration("max_age", max_age)
        check_duration("timeout", timeout)
        check_duration("cooldown", cooldown, allow_zero=True)
        self.url = url
        self.max_age = max_age
        self.cooldown = cooldown
        self.timeout = timeout
        self._client = http_client
        self._owns_client = http_client is None
        self._clock = clock
        self._keys: dict[str, ServiceKey] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._flight: asyncio.Task[None] | None = None

    def fresh_keys(self) -> Mapping[str, ServiceKey] | None:
        """The cached keys when they are younger than `max_age`, else ``None`` (no I/O)."""
        loaded = self._loaded_at
        if loaded is not None and self._clock() - loaded < self.max_age:
            return self._keys
        return None

    async def keys(self) -> Mapping[str, ServiceKey]:
        """The current keys, fetching them when none are cached or the cache is stale.

        Raises:
            TransientError: No key set was ever fetched successfully (503).
        """
        fresh = self.fresh_keys()
        if fresh is not None:
            return fresh
        return await self._refresh(self._loaded_at)

    async def refresh_for_unknown_kid(self) -> Mapping[str, ServiceKey]:
        """Fetch again because a token names a ``kid`` not in the set, unless in cooldown.

        Raises:
            TransientError: No key set was ever fetched successfully (503).
        """
        return await self._refresh(self._loaded_at)

    probe_name: ClassVar[str] = "jwks"
    """Key of this backend in the readiness answer (`mic.healthcheck.ping_probe`)."""

    async def ping(self) -> None:
        """Raise unless a key set has been fetched, or can be now (the readiness check).

        A fresh cached set answers with no I/O. A stale one is refreshed as `keys` would
        (at most once per `cooldown`) and stays good even if the refresh fails, because the
        verifier keeps the last good set. Until a first fetch succeeds, each ping tries
        one, bounded by the same `cooldown`, so a probe polled every second cannot hammer
        the signer. See `mic.healthcheck.ping_probe`.
        """
        await self.keys()

    async def aclose(self) -> None:
        """Stop a fetch in flight, and close the httpx client if this object created it."""
        flight = self._flight
        if flight is not None:
            flight.cancel()
            await asyncio.wait([flight])
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _in_cooldown(self) -> bool:
        attempted = self._attempted_at
        return attempted is not None and self._clock() - attempted < self.cooldown

    async def _refresh(self, seen_loaded_at: float | None) -> Mapping[str, ServiceKey]:
        # Single flight: one fetch runs at a time, as a task of its own, and every caller
        # (the one that started it included) waits on it with `asyncio.wait`. A caller
        # cancelled mid-fetch (its client went away) then no longer cancels the fetch the
        # others wait for, nor burns the cooldown with a fetch that never finished.
        # The cooldown bounds fetches whatever their cause (unknown kid, failure); a fetch
        # that finished since the caller looked is as good as its own.
        flight = self._flight
        if flight is None and self._loaded_at == seen_loaded_at and not self._in_cooldown():
            self._attempted_at = self._clock()
            flight = self._flight = asyncio.get_running_loop().create_task(self._fetch())
            flight.add_done_callback(self._landed)
        if flight is not None:
            # Unlike awaiting the task, `wait` neither cancels it when this caller is
            # cancelled nor passes its end (cancelled by `aclose`) on as this caller's.
            await asyncio.wait([flight])
        if self._loaded_at is None:
            raise TransientError(
                "jwks_unavailable", "The keys to verify service tokens cannot be fetched"
            )
        return self._keys

    def _landed(self, flight: asyncio.Task[None]) -> None:
        if self._flight is flight:
            self._flight = None
        if not flight.cancelled() and (error := flight.exception()) is not None:
            # `_fetch` handles every expected failure; anything else is a bug worth a trace.
            # Waiters see a failed fetch (the last good set, or a TransientError).
            logger.error("JWKS refresh from %s crashed", self.url, exc_info=error)

    async def _fetch(self) -> None:
        httpx = require("httpx", "auth")
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        try:
            response = await self._client.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            keys = _parse_jwks(response.json())
        except (httpx.HTTPError, ValueError, TypeError, RecursionError) as exc:
            logger.warning("JWKS refresh from %s failed, keeping the last good set: %s",
                           self.url, exc)  # fmt: skip
            return
        self._keys = keys
        self._loaded_at = self._clock()


def _parse_jwks(document: Any) -> dict[str, ServiceKey]:
    """The usable verification keys of a JWKS document.

    Raises:
        TypeError: The document is not a JWKS.
        ValueError: The document holds no usable signature key.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise TypeError("the document is not a JWKS (no 'keys' list)")
    keys: dict[str, ServiceKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig" or jwk.get("kty") == "oct":
            continue
        try:
            key = ServiceKey.from_jwk(jwk)
        except (ValueError, TypeError) as exc:
            logger.warning("ignoring a JWKS key that cannot be used: %s", exc)
            continue
        keys[key.kid] = key.public()
    if not keys:
        raise ValueError("the JWKS holds no usable signature key")
    return keys

"""`IdempotencyStore`: where Idempotency-Key records live, and the in-memory backend.

A record is first *in flight* (claimed by one request, with a short lease so a crashed worker
does not block the key for ever), then *completed* with the response to replay until it
expires. Claiming is atomic in every backend: of concurrent requests, exactly one runs.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response kept for replay.

    Attributes:
        status_code: HTTP status.
        headers: Header pairs (lower-case names), in order.
        body: Body bytes.
    """

    status_code: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What the store holds for one key.

    Attributes:
        fingerprint: Hash of the request that claimed the key.
        owner: Secret of the request running now (``None`` once completed).
        response: The response to replay, or ``None`` while in flight.
    """

    fingerprint: str
    owner: str | None
    response: StoredResponse | None

    def to_json(self) -> str:
        """Serialize (the body as base64) for backends that store text."""
        response = None
        if self.response is not None:
            response = {
                "s": self.response.status_code,
                "h": [list(pair) for pair in self.response.headers],
                "b": base64.b64encode(self.response.body).decode("ascii"),
            }
        return json.dumps({"f": self.fingerprint, "o": self.owner, "r": response},
                          separators=(",", ":"))  # fmt: skip

    @classmethod
    def from_json(cls, raw: str | bytes) -> IdempotencyRecord:
        """Parse what `to_json` wrote."""
        data: dict[str, Any] = json.loads(raw)
        stored = data["r"]
        response = None
        if stored is not None:
            headers = tuple((str(name), str(value)) for name, value in stored["h"])
            response = StoredResponse(int(stored["s"]), headers, base64.b64decode(stored["b"]))
        return cls(data["f"], data["o"], response)


_FIRST_SWEEP = 1024


class IdempotencyStore(ABC):
    """Atomic claim / complete / release of idempotency keys. Safe to share between tasks."""

    probe_name: ClassVar[str] = "idempotency"
    """Key of this backend in the readiness answer (`mic.healthcheck.ping_probe`)."""

    async def ping(self) -> None:
        """Raise if the backend cannot serve; this in-process one always can.

        `mic.healthcheck.ping_probe` builds the readiness probe from it. Backends on a
        server override it with a cheap round trip on their own client.
        """
        return

    @abstractmethod
    async def begin(
        self, key: str, fingerprint: str, owner: str, *, lease: float
    ) -> IdempotencyRecord | None:
        """Claim `key` for `owner` for `lease` seconds if it is free or expired.

        Returns ``None`` when the claim succeeded, else the record that holds the key.
        """

    @abstractmethod
    async def complete(self, key: str, owner: str, response: StoredResponse, *, ttl: float) -> bool:
        """Store `response` for `ttl` seconds if `owner` still holds the key; whether it did."""

    @abstractmethod
    async def release(self, key: str, owner: str) -> None:
        """Free `key` if `owner` still holds it (the request failed; a retry may run)."""


class InMemoryIdempotencyStore(IdempotencyStore):
    """Idempotency records in process memory (tests, single-process services).

    Args:
        clock: Monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[str, tuple[IdempotencyRecord, float]] = {}
        self._sweep_at = _FIRST_SWEEP

    def purge_expired(self) -> int:
        """Drop every expired record now; how many were dropped.

        `begin` also sweeps on its own whenever the store has doubled since the last sweep,
        so memory stays proportional to the live keys.
        """
        with self._lock:
            return self._purge()

    def _purge(self) -> int:
        now = self._clock()
        expired = [key for key, (_, expires_at) in self._records.items() if expires_at <= now]
        for key in expired:
            del self._records[key]
        self._sweep_at = max(_FIRST_SWEEP, 2 * len(self._records))
        return len(expired)

    def _live(self, key: str) -> IdempotencyRecord | None:
        found = self._records.get(key)
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    async def begin(
        self, key: str, fingerprint: str, owner: str, *, lease: float
    ) -> IdempotencyRecord | None:
        """Claim `key` if it is free or expired."""
        with self._lock:
            if len(self._records) >= self._sweep_at:
                self._purge()  # amortized O(1): each sweep follows a doubling
            existing = self._live(key)
            if existing is not None:
                return existing
            record = IdempotencyRecord(fingerprint, owner, None)
            self._records[key] = (record, self._clock() + lease)
            return None

    async def complete(self, key: str, owner: str, response: StoredResponse, *, ttl: float) -> bool:
        """Store the response if `owner` still holds the key."""
        with self._lock:
            existing = self._live(key)
            if existing is None or existing.owner != owner:
                return False
            record = IdempotencyRecord(existing.fingerprint, None, response)
            self._records[key] = (record, self._clock() + ttl)
            return True

    async def release(self, key: str, owner: str) -> None:
        """Free the key if `owner` still holds it."""
        with self._lock:
            existing = self._live(key)
            if existing is not None and existing.owner == owner:
                del self._records[key]

"""API keys: issued once in clear, stored only as SHA-256 digests, revocable, scoped.

A key reads ``mic_<key id>_<secret>``: the key id finds the record, the digest of the whole
key is compared in constant time. The secret has 256 bits of entropy, so a fast hash is
enough (ADR 0012): nobody can brute-force it, and a slow password hash would cost every
request milliseconds of CPU.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from mic.auth._signer import check_scopes

KEY_PREFIX = "mic"
MAX_NAME_LENGTH = 200  # the SQL store's column width: every backend takes the same names
_KEY_SHAPE = re.compile(r"mic_([0-9a-f]{16})_[A-Za-z0-9_-]{43}")


def key_digest(key: str) -> str:
    """The stored form of a key: the hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """What a store knows about a key (never the key itself).

    Attributes:
        key_id: The public part of the key, unique; shown in logs and admin screens.
        name: A label for humans (``"partner-acme"``).
        scopes: What the key may do.
        created_at: When it was issued (UTC).
        revoked_at: When it was revoked (UTC), or ``None`` while it is valid.
    """

    key_id: str
    name: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        """Whether the key has been revoked."""
        return self.revoked_at is not None


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A newly issued key: `secret` is shown to its owner once and never stored.

    Attributes:
        secret: The whole key to hand to the client (``mic_<key id>_<secret>``).
        key: The stored record.
    """

    secret: str = field(repr=False)
    key: ApiKey


class ApiKeyStore(ABC):
    """Where API keys live. `create` and `verify` are shared; backends store and find rows.

    Every method is a coroutine and safe to call concurrently.
    """

    probe_name: ClassVar[str] = "api_keys"
    """Key of this backend in the readiness answer (`mic.healthcheck.ping_probe`)."""

    async def ping(self) -> None:
        """Raise if the backend cannot serve; this in-process one always can.

        `mic.healthcheck.ping_probe` builds the readiness probe from it. Backends on a
        server override it with a cheap round trip on their own client.
        """
        return

    async def create(self, name: str, scopes: Iterable[str] = ()) -> IssuedApiKey:
        """Issue a new key with `scopes`; return it in clear, exactly once.

        Raises:
            ValueError: An empty, too long (over 200 characters) or non-printable name, or
                an invalid scope.
        """
        if not isinstance(name, str) or not name:
            raise ValueError("an API key needs a name")
        if len(name) > MAX_NAME_LENGTH or not name.isprintable():
            # Checked here, not left to the database: a PostgreSQL store would fail with a
            # driver error (too long, NUL byte) where the in-memory one accepted the name.
            raise ValueError(
                f"an API key name must be printable and at most {MAX_NAME_LENGTH} characters"
            )
        key_id = secrets.token_hex(8)
        secret = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(key_id, name, frozenset(check_scopes(scopes)), datetime.now(UTC))
        await self._insert(record, key_digest(secret))
        return IssuedApiKey(secret, record)

    async def verify(self, presented: str) -> ApiKey | None:
        """The record of a valid, unrevoked key, or ``None`` for anything else."""
        match = _KEY_SHAPE.fullmatch(presented)
        if match is None:
            return None
        found = await self._find(match.group(1))
        if found is None:
            return None
        record, digest = found
        # Constant-time comparison: timing must not reveal how much of a digest matched.
        if not hmac.compare_digest(digest.encode("ascii"), key_digest(presented).encode("ascii")):
            return None
        return None if record.revoked else record

    async def get(self, key_id: str) -> ApiKey | None:
        """The record of `key_id` (revoked or not), or ``None``."""
        found = await self._find(key_id)
        return None if found is None else found[0]

    @abstractmethod
    async def revoke(self, key_id: str) -> bool:
        """Revoke `key_id`; ``False`` when no such key exists. Revoking twice keeps the date."""

    @abstractmethod
    async def list_keys(self) -> list[ApiKey]:
        """Every key record, oldest first."""

    @abstractmethod
    async def _insert(self, record: ApiKey, digest: str) -> None:
        """Store a new record with its digest."""

    @abstractmethod
    async def _find(self, key_id: str) -> tuple[ApiKey, str] | None:
        """The record and digest of `key_id`, or ``None``."""


class InMemoryApiKeyStore(ApiKeyStore):
    """A complete store in a dict: for tests, single-process services and examples."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[ApiKey, str]] = {}

    async def revoke(self, key_id: str) -> bool:
        """Revoke `key_id`; ``False`` when no such key exists."""
        found = self._rows.get(key_id)
        if found is None:
            return False
        record, digest = found
        if not record.revoked:
            self._rows[key_id] = (dataclasses.replace(record, revoked_at=datetime.now(UTC)), digest)
        return True

    async def list_keys(self) -> list[ApiKey]:
        """Every key record, oldest first."""
        return sorted((row[0] for row in self._rows.values()), key=lambda r: r.created_at)

    async def _insert(self, record: ApiKey, digest: str) -> None:
        self._rows[record.key_id] = (record, digest)

    async def _find(self, key_id: str) -> tuple[ApiKey, str] | None:
        return self._rows.get(key_id)

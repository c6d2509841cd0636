"""`RedisRevokeBlacklist`: revocations shared by every worker, one round trip per verify."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from mic._deps import require
from mic.auth._revocation import (
    DEFAULT_RETENTION,
    RevokeBlacklist,
    check_retention,
    check_token_id,
)
from mic.auth._verifier import VerifiedToken

if TYPE_CHECKING:
    from redis.asyncio import Redis

# Keep the later instant: an earlier revocation must never shorten a later one.
_REVOKE_SUBJECT = """
local current = tonumber(redis.call('GET', KEYS[1]))
local instant = tonumber(ARGV[1])
if current and current > instant then instant = current end
redis.call('SET', KEYS[1], string.format('%.6f', instant), 'PX', ARGV[2])
return 1
"""


class RedisRevokeBlacklist(RevokeBlacklist):
    """Revocations in Redis: ``{prefix}jti:<jti>`` until the token expires, and
    ``{prefix}sub:<subject>`` holding the revocation instant for `retention` seconds.

    Args:
        client: A `redis.asyncio.Redis` client.
        prefix: Prepended to every key.
        retention: Seconds a subject revocation is remembered.
        clock: Wall clock in seconds since the epoch (for the default `before` and TTLs).

    Raises:
        MissingDependencyError: The ``redis`` extra is not installed.
        ValueError: An empty prefix or a bad `retention`.

    `is_revoked` is one ``MGET`` of two keys. Redis errors propagate: the verifier turns
    them into a refusal (fail closed) or lets the token through, as configured.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "mic:revoked:",
        retention: float = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        require("redis.asyncio", "redis")
        if not prefix:
            raise ValueError("prefix must not be empty")
        self.client = client
        self.prefix = prefix
        self.retention = check_retention(retention)
        self._clock = clock
        self._script = client.register_script(_REVOKE_SUBJECT)

    async def revoke_token(self, token_id: str, *, expires_at: float) -> None:
        """``SET {prefix}jti:<id> 1 PX <until expiry>`` (nothing when already expired)."""
        check_token_id(token_id)
        remaining = math.ceil((expires_at - self._clock()) * 1000)
        if remaining > 0:
            await self.client.set(f"{self.prefix}jti:{token_id}", b"1", px=remaining)

    async def revoke_subject(self, subject: str, *, before: float | None = None) -> None:
        """Record the instant atomically, keeping the later of the old and new ones."""
        check_token_id(subject)
        instant = self._clock() if before is None else before
        retention_ms = math.ceil(self.retention * 1000)
        await self._script(keys=[f"{self.prefix}sub:{subject}"], args=[instant, retention_ms])

    async def is_revoked(self, token: VerifiedToken) -> bool:
        """One ``MGET`` of the token's and the subject's keys."""
        jti, before = await self.client.mget(
            f"{self.prefix}jti:{token.token_id}", f"{self.prefix}sub:{token.subject}"
        )
        return jti is not None or (before is not None and token.issued_at < float(before))

"""`RevokeBlacklist`: revoked service tokens, by ``jti`` or by subject, consulted on verify.

Revoking a token id lasts until the token expires; revoking a subject refuses every token
it was issued before an instant, and is remembered for `retention` seconds (at least the
verifier's ``max_lifetime`` plus leeway: later, every such token has expired anyway).
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from mic.auth._verifier import VerifiedToken

DEFAULT_RETENTION = 24 * 3600.0


def check_retention(retention: float) -> float:
    """`retention` as a float, or `ValueError` when it is not a positive, finite duration."""
    if not 0 < retention < math.inf:
        raise ValueError(f"retention must be a positive, finite number of seconds: {retention!r}")
    return float(retention)


def check_token_id(token_id: str) -> None:
    """Refuse an empty or non-string token id or subject (it would revoke nothing)."""
    if not isinstance(token_id, str) or not token_id:
        raise ValueError("a token id or subject must be a non-empty string")


class RevokeBlacklist(ABC):
    """Where revocations live; `ServiceAuthVerifier(revocations=...)` asks it on every verify.

    Implementations raise whatever their store raises when it cannot answer: the verifier
    then refuses the token (fail closed) unless configured otherwise.
    """

    @abstractmethod
    async def revoke_token(self, token_id: str, *, expires_at: float) -> None:
        """Refuse the token with ``jti`` `token_id` until `expires_at` (epoch seconds)."""

    @abstractmethod
    async def revoke_subject(self, subject: str, *, before: float | None = None) -> None:
        """Refuse every token of ``sub`` `subject` issued before `before` (default: now).

        A later instant replaces an earlier one; an earlier one never shortens a revocation.
        """

    @abstractmethod
    async def is_revoked(self, token: VerifiedToken) -> bool:
        """Whether `token` is revoked, by its ``jti`` or its subject."""


class InMemoryRevokeBlacklist(RevokeBlacklist):
    """Revocations in this process only (tests, single-process services).

    Args:
        retention: Seconds a subject revocation is remembered.
        clock: Wall clock in seconds since the epoch (injectable for tests).

    Raises:
        ValueError: A non-positive or non-finite `retention`.

    Expired entries are dropped as new revocations come in. Thread- and task-safe.
    """

    def __init__(
        self, *, retention: float = DEFAULT_RETENTION, clock: Callable[[], float] = time.time
    ) -> None:
        self.retention = check_retention(retention)
        self._clock = clock
        self._tokens: dict[str, float] = {}
        self._subjects: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _prune(self, now: float) -> None:
        self._tokens = {k: v for k, v in self._tokens.items() if v > now}
        self._subjects = {k: v for k, v in self._subjects.items() if v[1] > now}

    async def revoke_token(self, token_id: str, *, expires_at: float) -> None:
        """Refuse `token_id` until `expires_at`."""
        check_token_id(token_id)
        with self._lock:
            now = self._clock()
            if len(self._tokens) % 1024 == 1023:
                self._prune(now)
            if expires_at > now:
                self._tokens[token_id] = max(expires_at, self._tokens.get(token_id, 0.0))

    async def revoke_subject(self, subject: str, *, before: float | None = None) -> None:
        """Refuse `subject`'s tokens issued before `before`."""
        check_token_id(subject)
        with self._lock:
            now = self._clock()
            instant = now if before is None else before
            previous = self._subjects.get(subject, (-math.inf, 0.0))[0]
            self._subjects[subject] = (max(instant, previous), now + self.retention)

    async def is_revoked(self, token: VerifiedToken) -> bool:
        """Two dictionary lookups."""
        now = self._clock()
        expires = self._tokens.get(token.token_id)
        if expires is not None and expires > now:
            return True
        subject = self._subjects.get(token.subject)
        return subject is not None and subject[1] > now and token.issued_at < subject[0]

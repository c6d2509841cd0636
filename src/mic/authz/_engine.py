"""The `AuthorizationEngine` contract, the resource it decides about, and a decision cache.

Every engine answers the same question, ``check(subject, action, resource)``, from the same
input document (`decision_input`), so a policy can move from the in-memory RBAC engine to an
embedded Rego policy or to an OPA or OpenFGA server without touching the routes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mic._errors import MicError
from mic.http import Identity

# Claims that change with every token but never with who the caller is: left out of the
# decision cache key, or every new token would miss the cache.
_VOLATILE_CLAIMS = frozenset({"exp", "iat", "nbf", "jti"})


class AuthorizationEngineError(MicError):
    """An engine could not decide (unreachable, timed out, bad answer, broken policy).

    The route policy turns it into a denial (fail closed), logs it and counts it; the
    message is for logs only and never reaches the client.
    """


@dataclass(frozen=True, slots=True)
class Resource:
    """What an action is performed on.

    Attributes:
        type: The kind of resource (``"item"``, ``"document"``); RBAC permissions name it.
        id: Its identifier; ``None`` for the collection or the kind as a whole.
        attributes: Facts a policy may use (owner, tenant...), JSON-safe.
    """

    type: str
    id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.type or not isinstance(self.type, str):
            raise ValueError("a resource needs a non-empty type")
        if self.id is not None and (not isinstance(self.id, str) or not self.id):
            raise ValueError("a resource id must be a non-empty string or None")


def subject_document(subject: Identity) -> dict[str, Any]:
    """The JSON document that describes `subject` to a policy."""
    return {
        "id": subject.subject,
        "kind": subject.kind,
        "issuer": subject.issuer,
        "scopes": sorted(subject.scopes),
        "claims": dict(subject.claims),
    }


def decision_input(subject: Identity, action: str, resource: Resource) -> dict[str, Any]:
    """The input document every engine decides on (OPA's ``input``).

    ``{"subject": {"id", "kind", "issuer", "scopes", "claims"}, "action": ...,
    "resource": {"type", "id", "attributes"}}``
    """
    return {
        "subject": subject_document(subject),
        "action": action,
        "resource": {
            "type": resource.type,
            "id": resource.id,
            "attributes": dict(resource.attributes),
        },
    }


class AuthorizationEngine(ABC):
    """Decides whether a subject may perform an action on a resource.

    Implementations answer ``True`` (allowed) or ``False`` (denied), and raise
    `AuthorizationEngineError` when they cannot decide; they never allow by default. Safe
    to share between tasks.
    """

    @abstractmethod
    async def check(self, subject: Identity, action: str, resource: Resource) -> bool:
        """Whether `subject` may perform `action` on `resource`.

        Raises:
            AuthorizationEngineError: The engine could not decide.
        """

    async def check_many(
        self, subject: Identity, action: str, resources: Sequence[Resource]
    ) -> list[bool]:
        """One decision per resource, in order (for filtering lists).

        The default asks `check` concurrently; engines with a batch API override it.

        Raises:
            AuthorizationEngineError: The engine could not decide one of them.
        """
        return list(await asyncio.gather(*(self.check(subject, action, r) for r in resources)))


def _cache_key(subject: Identity, action: str, resource: Resource) -> str:
    claims = {k: v for k, v in subject.claims.items() if k not in _VOLATILE_CLAIMS}
    document = decision_input(
        Identity(subject.subject, subject.kind, subject.issuer, subject.scopes, claims),
        action,
        resource,
    )
    try:
        encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    except ValueError:  # a circular structure: nothing stable to key on
        encoded = repr(document)
    return hashlib.sha256(encoded.encode()).hexdigest()


class CachedAuthorizationEngine(AuthorizationEngine):
    """Remembers another engine's decisions for a short TTL (process-local, LRU-bounded).

    Only decisions are cached, never errors: an engine that fails is asked again next
    time. The key is a SHA-256 of the whole decision input, minus the claims that change
    with every token (``exp``, ``iat``, ``nbf``, ``jti``).

    Args:
        engine: The engine that decides.
        ttl: Seconds a decision is reused; keep it short, since a revoked permission stays
            effective this long.
        max_entries: Most decisions kept.
        clock: Monotonic clock in seconds (injectable for tests).

    Raises:
        ValueError: `ttl` not in (0, 3600] or `max_entries` < 1.
    """

    def __init__(
        self,
        engine: AuthorizationEngine,
        *,
        ttl: float = 5.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < ttl <= 3600:
            raise ValueError(f"ttl must be in (0, 3600] seconds, got {ttl!r}")
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.engine = engine
        self.ttl = ttl
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._clock = clock
        self._decisions: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    def __repr__(self) -> str:
        return f"CachedAuthorizationEngine({self.engine!r}, ttl={self.ttl!r})"

    def _lookup(self, key: str) -> bool | None:
        found = self._decisions.get(key)
        if found is None or found[1] <= self._clock():
            self.misses += 1
            return None
        self.hits += 1
        return found[0]

    def _remember(self, key: str, allowed: bool) -> None:
        self._decisions[key] = (allowed, self._clock() + self.ttl)
        self._decisions.move_to_end(key)
        while len(self._decisions) > self.max_entries:
            self._decisions.popitem(last=False)

    async def check(self, subject: Identity, action: str, resource: Resource) -> bool:
        """The cached decision, or the engine's (then cached)."""
        key = _cache_key(subject, action, resource)
        cached = self._lookup(key)
        if cached is not None:
            return cached
        allowed = await self.engine.check(subject, action, resource)
        self._remember(key, allowed)
        return allowed

    async def check_many(
        self, subject: Identity, action: str, resources: Sequence[Resource]
    ) -> list[bool]:
        """Cached decisions, asking the engine in one batch for the others."""
        keys = [_cache_key(subject, action, r) for r in resources]
        answers = [self._lookup(k) for k in keys]
        missing = [i for i, a in enumerate(answers) if a is None]
        if missing:
            fresh = await self.engine.check_many(subject, action, [resources[i] for i in missing])
            for index, allowed in zip(missing, fresh, strict=True):
                answers[index] = allowed
                self._remember(keys[index], allowed)
        return [bool(a) for a in answers]

    def clear(self) -> None:
        """Forget every decision (after a policy change)."""
        self._decisions.clear()

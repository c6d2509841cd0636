"""`ResponseCacheStore`: rendered answers kept in a `mic.cache` backend, invalidated by tag.

An entry records the version of each of its tags when its handler started; invalidating a
tag gives it a new version, so every entry recorded under the old one becomes a miss, on
every worker that shares the backend. A missing version never matches, so an evicted or
expired tag can only cause misses, never a stale hit.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mic.cache import CacheBackend

# How long a tag version lives once written: far longer than any sensible response TTL,
# and harmless when it expires (entries recorded under it become misses).
TAG_TTL = 7 * 24 * 3600.0


def path_tag(path: str) -> str:
    """The tag every entry of request path `path` carries (so a path can be invalidated)."""
    return "path:" + path


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A stored answer.

    Attributes:
        status_code: HTTP status (200).
        headers: Header pairs as rendered (lower-case names).
        body: The body bytes.
        etag: The strong ETag, quoted.
    """

    status_code: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    etag: str


class ResponseCacheStore:
    """Where `ResponseCache` keeps answers; register it in ``HttpRouterConfig.services``.

    Args:
        backend: A `mic.cache` backend: `InMemoryCache` for one process, `RedisCache` to
            share between workers (and to invalidate everywhere at once).
        prefix: Prepended to every key this store writes into the backend.

    Raises:
        ValueError: An empty prefix.

    Safe to share between tasks and routes.
    """

    def __init__(self, backend: CacheBackend, *, prefix: str = "mic:response:") -> None:
        if not prefix:
            raise ValueError("prefix must not be empty")
        self.backend = backend
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"ResponseCacheStore({self.backend!r}, prefix={self.prefix!r})"

    def _tag_key(self, tag: str) -> str:
        return f"{self.prefix}tag:{hashlib.sha256(tag.encode()).hexdigest()}"

    async def tag_versions(self, tags: Iterable[str]) -> dict[str, str]:
        """The current version of each tag, creating the missing ones."""
        versions: dict[str, str] = {}
        for tag in tags:
            key = self._tag_key(tag)
            version = await self.backend.get(key)
            if not isinstance(version, str):
                version = uuid.uuid4().hex
                await self.backend.set(key, version, ttl=TAG_TTL)
            versions[tag] = version
        return versions

    async def get(self, key: str) -> CachedResponse | None:
        """The entry under `key`, or ``None`` when absent, malformed or invalidated."""
        entry = await self.backend.get(self.prefix + key)
        if not isinstance(entry, dict):
            return None
        try:
            recorded: Mapping[str, str] = entry["tags"]
            for tag, version in recorded.items():
                if await self.backend.get(self._tag_key(tag)) != version:
                    return None
            return CachedResponse(
                status_code=int(entry["status"]),
                headers=tuple(
                    (k.encode("latin-1"), v.encode("latin-1")) for k, v in entry["headers"]
                ),
                body=base64.b64decode(entry["body"]),
                etag=str(entry["etag"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            # Written by another version of this code, or tampered with: a miss, not a 500.
            return None

    async def set(
        self, key: str, response: CachedResponse, versions: Mapping[str, str], ttl: float
    ) -> None:
        """Store `response` under `key` for `ttl` seconds, valid while `versions` hold."""
        entry: dict[str, Any] = {
            "status": response.status_code,
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in response.headers],
            "body": base64.b64encode(response.body).decode("ascii"),
            "etag": response.etag,
            "tags": dict(versions),
        }
        await self.backend.set(self.prefix + key, entry, ttl=ttl)

    async def invalidate(self, path: str) -> None:
        """Drop every cached answer of request path `path` (every query, identity, variant)."""
        await self.invalidate_tags(path_tag(path))

    async def invalidate_tags(self, *tags: str) -> None:
        """Drop every cached answer carrying one of `tags` (e.g. ``"item:42"``)."""
        for tag in tags:
            await self.backend.set(self._tag_key(tag), uuid.uuid4().hex, ttl=TAG_TTL)

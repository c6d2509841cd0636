"""Strong ETags from a body, and `If-None-Match` parsed the way RFC 9110 section 13.1.2 says."""

from __future__ import annotations

import base64
import hashlib
import re

from mic.model import DomainError

# RFC 9110 section 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, where etagc is
# %x21 / %x23-7E / obs-text (%x80-FF).
_ENTITY_TAG = re.compile(r'\s*(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*')


def strong_etag(body: bytes) -> str:
    """A strong validator for `body`: the quoted base64url SHA-256 of its bytes."""
    digest = hashlib.sha256(body).digest()
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") + '"'


def parse_if_none_match(values: list[str]) -> frozenset[str] | None:
    """The opaque tags of the `If-None-Match` field lines (weak prefix dropped).

    ``None`` means ``*`` (any current representation matches).

    Raises:
        DomainError: A field line that is not ``*`` nor a list of entity-tags (400
            ``invalid_if_none_match``).
    """
    tags: set[str] = set()
    for value in values:
        if value.strip() == "*":
            return None
        for member in value.split(","):
            if not member.strip():
                continue  # RFC 9110 section 5.6.1: empty list elements are ignored
            match = _ENTITY_TAG.fullmatch(member)
            if match is None:
                raise DomainError(
                    "invalid_if_none_match",
                    'If-None-Match must be "*" or a list of quoted entity-tags',
                )
            tags.add(match.group(1))
    return frozenset(tags)


def none_match(tags: frozenset[str] | None, etag: str) -> bool:
    """Whether the condition fails for `etag`, i.e. the answer is a 304 (weak comparison)."""
    return tags is None or etag in tags

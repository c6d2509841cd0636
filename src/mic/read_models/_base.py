"""The read-model contracts: five small structures a projection keeps up to date.

Each structure is a family of values addressed by a key (one timeline per user, one
counter per article...). Every backend implements the same abstract methods and passes
the same behaviour suite: `mic.read_models._memory` in process, `_redis` on Redis.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import ClassVar

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
MAX_KEY_LENGTH = 512


def check_name(name: object) -> str:
    """`name` when it is a valid read-model name (letters, digits, ``.``, ``-``, ``_``).

    Raises:
        ValueError: Any other name (it becomes part of Redis keys).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"invalid read model name {name!r}: use 1-100 letters, digits, '.-_'")
    return name


def check_key(key: object) -> str:
    """`key` when it is a non-empty string of at most 512 characters.

    Raises:
        ValueError: An empty, oversized or non-string key.
    """
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"a read model key is a non-empty string of at most {MAX_KEY_LENGTH}")
    return key


def check_members(members: tuple[object, ...]) -> tuple[str, ...]:
    """`members` when each is a string.

    Raises:
        TypeError: A member that is not a string.
    """
    for member in members:
        if not isinstance(member, str):
            raise TypeError(f"members are strings, not {type(member).__name__}")
    return members  # type: ignore[return-value]


def check_limit(limit: object) -> int:
    """`limit` when it is a positive int.

    Raises:
        ValueError: Zero, negative or not an int.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive int, not {limit!r}")
    return limit


class ReadModel(ABC):
    """What every read model offers: a name and a way to start from scratch.

    Attributes:
        name: Unique among the read models of one store (a Redis key prefix segment).
    """

    name: str
    probe_name: ClassVar[str] = "read_model"
    """Key of this backend in the readiness answer (`mic.healthcheck.ping_probe`)."""

    async def ping(self) -> None:
        """Raise if the read model cannot serve; an in-process one always can.

        `mic.healthcheck.ping_probe` builds the readiness probe from it; the Redis read
        models send ``PING``.
        """
        return

    @abstractmethod
    async def clear(self) -> int:
        """Delete every key of this read model (a rebuild starts here); returns how many."""


class Timeline(ReadModel):
    """Per key, the newest `max_items` items by score (a capped sorted set: feeds, activity)."""

    max_items: int

    @abstractmethod
    async def add(self, key: str, item: str, score: float) -> None:
        """Insert (or move) `item` at `score`; the lowest scores beyond `max_items` drop out."""

    @abstractmethod
    async def remove(self, key: str, item: str) -> bool:
        """Remove `item`; whether it was there."""

    @abstractmethod
    async def latest(self, key: str, limit: int = 20) -> list[tuple[str, float]]:
        """Up to `limit` items, highest score first (ties: the greater item first)."""

    @abstractmethod
    async def size(self, key: str) -> int:
        """How many items `key` holds (at most `max_items`)."""


class Counter(ReadModel):
    """Per key, an integer (views, likes, unread messages)."""

    @abstractmethod
    async def increment(self, key: str, by: int = 1) -> int:
        """Add `by` (may be negative); returns the new value."""

    @abstractmethod
    async def get(self, key: str) -> int:
        """The value (0 for a key never incremented)."""

    @abstractmethod
    async def reset(self, key: str) -> None:
        """Set the value back to 0."""


class MembershipSet(ReadModel):
    """Per key, a set of strings (members of a group, followers, tags)."""

    @abstractmethod
    async def add(self, key: str, *members: str) -> int:
        """Add `members`; returns how many were new."""

    @abstractmethod
    async def remove(self, key: str, *members: str) -> int:
        """Remove `members`; returns how many were there."""

    @abstractmethod
    async def contains(self, key: str, member: str) -> bool:
        """Whether `member` is in the set."""

    @abstractmethod
    async def members(self, key: str) -> set[str]:
        """Every member."""

    @abstractmethod
    async def size(self, key: str) -> int:
        """How many members."""


class Leaderboard(ReadModel):
    """Per key, members ranked by a score (top sellers, high scores)."""

    @abstractmethod
    async def increment(self, key: str, member: str, by: float = 1.0) -> float:
        """Add `by` to `member`'s score (from 0); returns the new score."""

    @abstractmethod
    async def set_score(self, key: str, member: str, score: float) -> None:
        """Set `member`'s score."""

    @abstractmethod
    async def top(self, key: str, limit: int = 10) -> list[tuple[str, float]]:
        """The `limit` best, highest score first (ties: the greater member first)."""

    @abstractmethod
    async def rank(self, key: str, member: str) -> int | None:
        """0 for the best, ``None`` for a member without a score."""

    @abstractmethod
    async def score(self, key: str, member: str) -> float | None:
        """`member`'s score, or ``None``."""


class UniqueCount(ReadModel):
    """Per key, how many distinct items were seen (unique visitors).

    The Redis backend uses a HyperLogLog: 12 KiB per key whatever the count, with a
    standard error of 0.81 %; the in-memory twin counts exactly.
    """

    @abstractmethod
    async def add(self, key: str, *items: str) -> None:
        """Count `items` (again-seen items change nothing)."""

    @abstractmethod
    async def count(self, key: str) -> int:
        """The (estimated) number of distinct items."""

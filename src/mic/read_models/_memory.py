"""In-memory read models: complete twins of the Redis ones, for tests and one process."""

from __future__ import annotations

import math

from mic.read_models._base import (
    Counter,
    Leaderboard,
    MembershipSet,
    Timeline,
    UniqueCount,
    check_key,
    check_limit,
    check_members,
    check_name,
)


def _check_score(score: float) -> float:
    if isinstance(score, bool) or not isinstance(score, int | float) or math.isnan(score):
        raise ValueError(f"a score is a number, not {score!r}")
    return float(score)


def _ranked(scores: dict[str, float], limit: int) -> list[tuple[str, float]]:
    # Highest score first; ties by the greater member first (Redis ZREVRANGE order).
    return sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)[:limit]


class InMemoryTimeline(Timeline):
    """`Timeline` in process memory.

    Args:
        name: The read model's name.
        max_items: Items kept per key (the lowest scores drop out first).

    Raises:
        ValueError: An invalid name or a `max_items` below 1.
    """

    def __init__(self, name: str, *, max_items: int = 100) -> None:
        self.name = check_name(name)
        self.max_items = check_limit(max_items)
        self._keys: dict[str, dict[str, float]] = {}

    async def add(self, key: str, item: str, score: float) -> None:
        """Insert (or move) `item` at `score`, then cap the key."""
        scores = self._keys.setdefault(check_key(key), {})
        scores[check_members((item,))[0]] = _check_score(score)
        if len(scores) > self.max_items:
            for doomed, _ in _ranked(scores, len(scores))[self.max_items :]:
                del scores[doomed]

    async def remove(self, key: str, item: str) -> bool:
        """Remove `item`; whether it was there."""
        return self._keys.get(check_key(key), {}).pop(item, None) is not None

    async def latest(self, key: str, limit: int = 20) -> list[tuple[str, float]]:
        """Up to `limit` items, highest score first."""
        return _ranked(self._keys.get(check_key(key), {}), check_limit(limit))

    async def size(self, key: str) -> int:
        """How many items `key` holds."""
        return len(self._keys.get(check_key(key), {}))

    async def clear(self) -> int:
        """Forget every key."""
        count = sum(1 for scores in self._keys.values() if scores)
        self._keys.clear()
        return count


class InMemoryCounter(Counter):
    """`Counter` in process memory.

    Args:
        name: The read model's name.
    """

    def __init__(self, name: str) -> None:
        self.name = check_name(name)
        self._values: dict[str, int] = {}

    async def increment(self, key: str, by: int = 1) -> int:
        """Add `by`; returns the new value."""
        if isinstance(by, bool) or not isinstance(by, int):
            raise TypeError(f"a counter moves by an int, not {type(by).__name__}")
        value = self._values.get(check_key(key), 0) + by
        self._values[key] = value
        return value

    async def get(self, key: str) -> int:
        """The value (0 when absent)."""
        return self._values.get(check_key(key), 0)

    async def reset(self, key: str) -> None:
        """Back to 0."""
        self._values.pop(check_key(key), None)

    async def clear(self) -> int:
        """Forget every key."""
        count = len(self._values)
        self._values.clear()
        return count


class InMemoryMembershipSet(MembershipSet):
    """`MembershipSet` in process memory.

    Args:
        name: The read model's name.
    """

    def __init__(self, name: str) -> None:
        self.name = check_name(name)
        self._sets: dict[str, set[str]] = {}

    async def add(self, key: str, *members: str) -> int:
        """Add `members`; returns how many were new."""
        current = self._sets.setdefault(check_key(key), set())
        new = set(check_members(members)) - current
        current |= new
        return len(new)

    async def remove(self, key: str, *members: str) -> int:
        """Remove `members`; returns how many were there."""
        current = self._sets.get(check_key(key), set())
        gone = current & set(check_members(members))
        current -= gone
        return len(gone)

    async def contains(self, key: str, member: str) -> bool:
        """Whether `member` is in the set."""
        return member in self._sets.get(check_key(key), set())

    async def members(self, key: str) -> set[str]:
        """Every member (a copy)."""
        return set(self._sets.get(check_key(key), set()))

    async def size(self, key: str) -> int:
        """How many members."""
        return len(self._sets.get(check_key(key), set()))

    async def clear(self) -> int:
        """Forget every key."""
        count = sum(1 for members in self._sets.values() if members)
        self._sets.clear()
        return count


class InMemoryLeaderboard(Leaderboard):
    """`Leaderboard` in process memory.

    Args:
        name: The read model's name.
    """

    def __init__(self, name: str) -> None:
        self.name = check_name(name)
        self._boards: dict[str, dict[str, float]] = {}

    async def increment(self, key: str, member: str, by: float = 1.0) -> float:
        """Add `by` to `member`'s score; returns the new score."""
        board = self._boards.setdefault(check_key(key), {})
        score = board.get(check_members((member,))[0], 0.0) + _check_score(by)
        board[member] = score
        return score

    async def set_score(self, key: str, member: str, score: float) -> None:
        """Set `member`'s score."""
        self._boards.setdefault(check_key(key), {})[check_members((member,))[0]] = _check_score(
            score
        )

    async def top(self, key: str, limit: int = 10) -> list[tuple[str, float]]:
        """The `limit` best, highest first."""
        return _ranked(self._boards.get(check_key(key), {}), check_limit(limit))

    async def rank(self, key: str, member: str) -> int | None:
        """0 for the best, ``None`` without a score."""
        board = self._boards.get(check_key(key), {})
        if member not in board:
            return None
        return [name for name, _ in _ranked(board, len(board))].index(member)

    async def score(self, key: str, member: str) -> float | None:
        """`member`'s score, or ``None``."""
        return self._boards.get(check_key(key), {}).get(member)

    async def clear(self) -> int:
        """Forget every key."""
        count = sum(1 for board in self._boards.values() if board)
        self._boards.clear()
        return count


class InMemoryUniqueCount(UniqueCount):
    """`UniqueCount` in process memory (exact: it keeps every item).

    Args:
        name: The read model's name.
    """

    def __init__(self, name: str) -> None:
        self.name = check_name(name)
        self._seen: dict[str, set[str]] = {}

    async def add(self, key: str, *items: str) -> None:
        """Count `items`."""
        self._seen.setdefault(check_key(key), set()).update(check_members(items))

    async def count(self, key: str) -> int:
        """The exact number of distinct items."""
        return len(self._seen.get(check_key(key), set()))

    async def clear(self) -> int:
        """Forget every key."""
        count = sum(1 for seen in self._seen.values() if seen)
        self._seen.clear()
        return count

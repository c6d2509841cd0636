"""Ordered indexes of `InMemoryDataStorage`: a keyset page in O(log n + page), not a full sort.

An index keeps the keys of every committed row sorted: first the values of the fields a query
filters on with ``eq`` (or one ``in``), then the ordering keys (ending with ``id``, so every
key is unique). A page is a binary search to the cursor (or range bound) and a walk of the
next rows. Indexes are built on first use of a (filter fields, order) combination and kept
up to date by every committed write (ADR 0065).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mic.datastorage._query import OrderKey

Key = tuple[Any, ...]
Position = tuple[int, int]

# Rows per block of the sorted list: inserts move at most 2 * _LOAD pointers, and a walk
# touches one block boundary per _LOAD rows.
_LOAD = 256


class Unindexable(Exception):  # noqa: N818 - an internal signal, never raised to callers
    """A value cannot take part in a total order (NaN, or types that do not compare)."""


class _Top:
    """Sorts after every value: the end of a key prefix."""

    __slots__ = ()

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return other is not self


TOP = _Top()


class Descending:
    """A value whose order is reversed, so one ascending sorted list serves mixed orders."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Descending) and bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]  # compared, never hashed

    def __lt__(self, other: object) -> bool:
        # Sorting and bisecting only ever ask "<"; a bound (TOP) answers the reflected ">".
        if not isinstance(other, Descending):
            return NotImplemented
        return bool(self.value > other.value)


def _checked(value: Any) -> Any:
    # NaN equals nothing, itself included: a key holding one would break the sorted order.
    if isinstance(value, float) and math.isnan(value):
        raise Unindexable
    return value


def encode(key: OrderKey, value: Any) -> Any:
    """`value` as it sorts under ordering key `key`.

    Raises:
        Unindexable: `value` is NaN.
    """
    return Descending(_checked(value)) if key.descending else _checked(value)


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """What an index is sorted by: ``eq`` prefix fields, then the ordering keys."""

    prefix: tuple[str, ...]
    order: tuple[OrderKey, ...]

    def prefix_key(self, values: tuple[Any, ...]) -> Key:
        """The encoded prefix for the given prefix field values."""
        # (is None, value): None sorts first and is never compared with a value.
        return tuple((v is None, None if v is None else _checked(v)) for v in values)

    def order_part(self, values: tuple[Any, ...]) -> Key:
        """The encoded ordering part for the given ordering values."""
        return tuple(encode(k, v) for k, v in zip(self.order, values, strict=True))

    def key(self, row: Mapping[str, Any]) -> Key:
        """The key of a stored row.

        Raises:
            Unindexable: A value is NaN.
        """
        prefix = tuple(row[name] for name in self.prefix)
        return self.prefix_key(prefix) + self.order_part(tuple(row[k.field] for k in self.order))

    def record_id(self, key: Key) -> Any:
        """The id a key belongs to (the last ordering key is always ``id``)."""
        last = key[-1]
        return last.value if isinstance(last, Descending) else last


class SortedKeys:
    """A sorted list of unique keys in blocks: O(log n) insert, remove and search."""

    __slots__ = ("_blocks", "_maxes", "size")

    def __init__(self, keys: list[Key]) -> None:
        """Take `keys` already sorted."""
        self._blocks = [keys[i : i + _LOAD] for i in range(0, len(keys), _LOAD)]
        self._maxes = [block[-1] for block in self._blocks]
        self.size = len(keys)

    def insert(self, key: Key) -> None:
        """Add `key` (not present)."""
        if not self._blocks:
            self._blocks.append([key])
            self._maxes.append(key)
        else:
            i = bisect_left(self._maxes, key)
            if i == len(self._blocks):
                i -= 1
                self._blocks[i].append(key)
                self._maxes[i] = key
            else:
                insort(self._blocks[i], key)
            block = self._blocks[i]
            if len(block) > 2 * _LOAD:
                self._blocks[i : i + 1] = [block[:_LOAD], block[_LOAD:]]
                self._maxes[i : i + 1] = [block[_LOAD - 1], block[-1]]
        self.size += 1

    def remove(self, key: Key) -> None:
        """Remove `key` (present)."""
        i = bisect_left(self._maxes, key)
        block = self._blocks[i]
        del block[bisect_left(block, key)]
        if block:
            self._maxes[i] = block[-1]
        else:
            del self._blocks[i], self._maxes[i]
        self.size -= 1

    def position(self, key: Key, *, after: bool = False) -> Position:
        """Where `key` would go: before equal keys, or after them with `after`."""
        search = bisect_right if after else bisect_left
        i = search(self._maxes, key)
        if i == len(self._blocks):
            return (i, 0)
        return (i, search(self._blocks[i], key))

    def walk(self, start: Position, stop: Position) -> Iterator[Key]:
        """The keys from `start` (included) to `stop` (excluded), in order."""
        i, j = start
        while (i, j) < stop:
            block = self._blocks[i]
            last = stop[1] if i == stop[0] else len(block)
            yield from block[j:last]
            i, j = i + 1, 0

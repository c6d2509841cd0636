"""`InMemoryDataStorage`: a complete, thread- and task-safe backend kept in process memory.

Records are stored as plain data (``model_dump``) and rebuilt on read, so callers never share
mutable state with the store. A unit of work stages writes and validates them against the
committed versions when it commits, under one lock: all or nothing, no partial write.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Generic

from mic.datastorage._base import (
    DataStorage,
    Filter,
    Filters,
    ModelT,
    Page,
    StorageOptions,
    UnitOfWork,
)
from mic.datastorage._index import TOP, IndexSpec, Key, SortedKeys, Unindexable, encode
from mic.datastorage._query import (
    ModelSchema,
    OrderKey,
    after_cursor,
    checked_record,
    matches,
    sort_rows,
)
from mic.model import ConflictError, NotFoundError

Row = dict[str, Any]
Rows = list[Row]  # named: inside the class, `list` is the method

# One lock for every in-memory storage: a commit touching several storages is atomic.
_LOCK = threading.RLock()

# Indexes kept per storage (least recently used dropped first): each costs memory and a
# little time on every write, and callers rarely use more than a handful of query shapes.
MAX_INDEXES = 16

_BY_ID = (OrderKey("id", descending=False),)
_RANGE_OPS = frozenset({"lt", "le", "gt", "ge"})

_active: ContextVar[InMemoryUnitOfWork | None] = ContextVar("mic_memory_uow", default=None)


def _conflict(record_id: Any, version: int | None) -> ConflictError:
    return ConflictError(
        "version_conflict",
        "the record was changed by someone else; reload it and retry",
        {"id": str(record_id), "expected_version": version},
    )


def _not_found(record_id: Any) -> NotFoundError:
    return NotFoundError("record_not_found", "no record has this id", {"id": str(record_id)})


def _exists(record_id: Any) -> ConflictError:
    return ConflictError(
        "already_exists", "a record with this id already exists", {"id": str(record_id)}
    )


class InMemoryUnitOfWork(UnitOfWork):
    """Staged writes of in-memory storages, applied atomically on commit."""

    @classmethod
    def current(cls) -> InMemoryUnitOfWork | None:
        """The in-memory unit of work open in this task, or ``None``."""
        return _active.get()

    def __init__(self) -> None:
        super().__init__()
        # storage -> id -> (committed version expected at commit, None if absent; new row or
        # None for a delete)
        self.staged: dict[InMemoryDataStorage[Any], dict[Any, tuple[int | None, Row | None]]] = {}

    def visible(self, storage: InMemoryDataStorage[Any], record_id: Any) -> Row | None:
        """The row as this unit of work sees it (its own writes first)."""
        writes = self.staged.get(storage)
        if writes is not None and record_id in writes:
            return writes[record_id][1]
        return storage.committed.get(record_id)

    def stage(self, storage: InMemoryDataStorage[Any], record_id: Any, row: Row | None) -> None:
        """Record a write; the first touch of an id fixes what commit will check."""
        writes = self.staged.setdefault(storage, {})
        if record_id in writes:
            writes[record_id] = (writes[record_id][0], row)
            return
        with _LOCK:
            current = storage.committed.get(record_id)
        writes[record_id] = (None if current is None else current["version"], row)

    def commit(self) -> None:
        """Apply every staged write, or none if a record changed meanwhile.

        Raises:
            ConflictError: Another writer committed a conflicting change first.
        """
        with _LOCK:
            for storage, writes in self.staged.items():
                for record_id, (expected, _) in writes.items():
                    current = storage.committed.get(record_id)
                    if (None if current is None else current["version"]) != expected:
                        raise _conflict(record_id, expected)
            for storage, writes in self.staged.items():
                for record_id, (_, row) in writes.items():
                    storage._apply(record_id, row)
        self.staged.clear()


class InMemoryDataStorage(DataStorage[ModelT], Generic[ModelT]):
    """A complete `DataStorage` in process memory, for tests, demos and single-process tools.

    Args:
        model: The pydantic model stored (needs ``id`` and ``version`` fields).
        options: Page size limits.

    Thread- and task-safe. Units of work are optimistic: writes are staged and validated
    against committed versions at commit time (read-committed isolation).
    """

    def __init__(self, model: type[ModelT], *, options: StorageOptions | None = None) -> None:
        self.model = model
        self.schema = ModelSchema(model, options or StorageOptions())
        self.committed: dict[Any, Row] = {}
        self._indexes: OrderedDict[IndexSpec, SortedKeys] = OrderedDict()
        # Index specs whose keys did not sort (NaN, values of types that do not compare):
        # served by a scan until a row is replaced or deleted.
        self._refused: set[IndexSpec] = set()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model.__name__})"

    def _load(self, row: Row) -> ModelT:
        return self.model.model_validate(row)

    def _visible(self, record_id: Any) -> Row | None:
        uow = _active.get()
        if uow is not None:
            return uow.visible(self, record_id)
        with _LOCK:
            return self.committed.get(record_id)

    def _rows(self) -> list[Row]:
        with _LOCK:
            rows = dict(self.committed)
        uow = _active.get()
        if uow is not None:
            for record_id, (_, row) in uow.staged.get(self, {}).items():
                if row is None:
                    rows.pop(record_id, None)
                else:
                    rows[record_id] = row
        return list(rows.values())

    def _write(self, record_id: Any, check: Any, row: Row | None) -> None:
        """Check-and-write: inside a unit of work stage it, else apply it under the lock."""
        uow = _active.get()
        if uow is not None:
            check(uow.visible(self, record_id))
            uow.stage(self, record_id, row)
            return
        with _LOCK:
            check(self.committed.get(record_id))
            self._apply(record_id, row)

    def _apply(self, record_id: Any, row: Row | None) -> None:
        """Commit one write and keep every index in step (the caller holds the lock)."""
        old = self.committed.get(record_id)
        if row is None:
            self.committed.pop(record_id, None)
        else:
            self.committed[record_id] = row
        if old is not None:
            self._refused.clear()
        for spec, index in list(self._indexes.items()):
            try:
                if old is not None:
                    index.remove(spec.key(old))
                if row is not None:
                    index.insert(spec.key(row))
            except (Unindexable, TypeError):
                del self._indexes[spec]
                self._refused.add(spec)

    def _index(self, spec: IndexSpec) -> SortedKeys:
        """The index for `spec`, built on first use (the caller holds the lock).

        Raises:
            Unindexable: The committed rows cannot be sorted by `spec`.
        """
        found = self._indexes.get(spec)
        if found is not None:
            self._indexes.move_to_end(spec)
            return found
        if spec in self._refused:
            raise Unindexable
        try:
            keys = sorted(spec.key(row) for row in self.committed.values())
        except (Unindexable, TypeError):
            self._refused.add(spec)
            raise Unindexable from None
        index = self._indexes[spec] = SortedKeys(keys)
        if len(self._indexes) > MAX_INDEXES:
            self._indexes.popitem(last=False)
        return index

    async def get(self, record_id: Any) -> ModelT | None:
        """The record with id `record_id`, or ``None``."""
        row = self._visible(self.schema.validate_id(record_id))
        return None if row is None else self._load(row)

    async def add(self, record: ModelT) -> ModelT:
        """Store a new record with version 1."""
        row = record.model_dump(warnings=False)  # checked below: a typed error, not a warning
        row["version"] = 1
        record_id = row["id"]
        stored = checked_record(self._load, row)

        def check(current: Row | None) -> None:
            if current is not None:
                raise _exists(record_id)

        self._write(record_id, check, row)
        return stored

    async def update(self, record: ModelT) -> ModelT:
        """Replace the record if ``record.version`` is the stored version."""
        row = record.model_dump(warnings=False)  # checked below: a typed error, not a warning
        record_id, version = row["id"], row["version"]
        row["version"] = version + 1
        stored = checked_record(self._load, row)

        def check(current: Row | None) -> None:
            if current is None:
                raise _not_found(record_id)
            if current["version"] != version:
                raise _conflict(record_id, version)

        self._write(record_id, check, row)
        return stored

    async def delete(self, record_id: Any, *, version: int | None = None) -> None:
        """Delete the record (only at `version`, when given)."""
        record_id = self.schema.validate_id(record_id)
        version = self.schema.validate_version(version)

        def check(current: Row | None) -> None:
            if current is None:
                raise _not_found(record_id)
            if version is not None and current["version"] != version:
                raise _conflict(record_id, version)

        self._write(record_id, check, None)

    async def list(
        self,
        filters: Filters = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ModelT]:
        """One page of matching records (keyset pagination)."""
        query = self.schema.list_query(filters, order_by, limit, cursor)
        rows = self._select(query.filters, query.order, query.after, query.limit + 1)
        items = [self._load(row) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        next_cursor = self.schema.encode_cursor(query.order, items[-1]) if more else None
        return Page(items, next_cursor)

    async def count(self, filters: Filters = ()) -> int:
        """How many records match."""
        checked = self.schema.filters(filters)
        if not checked:
            uow = _active.get()
            if uow is None or not uow.staged.get(self):
                with _LOCK:
                    return len(self.committed)
        return len(self._select(checked, _BY_ID, None, None))

    def _select(
        self,
        filters: tuple[Filter, ...],
        order: tuple[OrderKey, ...],
        after: tuple[Any, ...] | None,
        most: int | None,
    ) -> Rows:
        """Up to `most` matching rows after `after`, in `order`: from an index, else a scan."""
        uow = _active.get()
        staged = uow.staged.get(self, {}) if uow is not None else {}
        try:
            with _LOCK:
                return list(itertools.islice(self._indexed(filters, order, after, staged), most))
        except (Unindexable, TypeError):
            pass
        # The exact semantics of a scan and sort (including its errors) where keys cannot
        # be kept in order.
        rows = [row for row in self._rows() if matches(row, filters)]
        if after is not None:
            rows = [row for row in rows if after_cursor(row, order, after)]
        sort_rows(rows, order)
        return rows if most is None else rows[:most]

    def _indexed(
        self,
        filters: tuple[Filter, ...],
        order: tuple[OrderKey, ...],
        after: tuple[Any, ...] | None,
        staged: dict[Any, tuple[int | None, Row | None]],
    ) -> Iterator[Row]:
        """Matching rows in order, walked from an index; this task's staged writes merged in.

        Raises:
            Unindexable: No index can serve the rows (the caller scans instead).
        """
        spec, prefixes = _plan(filters, order)
        index = self._index(spec)
        width = len(spec.prefix)
        streams: list[Iterator[tuple[Key, Row]]] = []
        for prefix in prefixes:
            start, stop = _bounds(index, spec, prefix, filters, after)
            streams.append(self._walk(index, spec, start, stop, filters=filters, staged=staged))
        mine = [
            (spec.key(row), row)
            for row in (row for _, row in staged.values())
            if row is not None
            and matches(row, filters)
            and (after is None or after_cursor(row, order, after))
        ]
        if mine:
            mine.sort(key=lambda pair: pair[0][width:])
            streams.append(iter(mine))
        if len(streams) == 1:
            return (row for _, row in streams[0])
        return (row for _, row in heapq.merge(*streams, key=lambda pair: pair[0][width:]))

    def _walk(
        self,
        index: SortedKeys,
        spec: IndexSpec,
        start: tuple[int, int],
        stop: tuple[int, int],
        *,
        filters: tuple[Filter, ...],
        staged: dict[Any, tuple[int | None, Row | None]],
    ) -> Iterator[tuple[Key, Row]]:
        for key in index.walk(start, stop):
            record_id = spec.record_id(key)
            if record_id in staged:
                continue  # this task's own write of the record is merged in instead
            row = self.committed[record_id]
            if matches(row, filters):
                yield key, row

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """Open (or join) a unit of work shared by every in-memory storage."""
        current = _active.get()
        if current is not None:
            # Joined: the outermost unit of work commits; this block is a savepoint.
            staged = {storage: dict(writes) for storage, writes in current.staged.items()}
            mark = current._callbacks_mark()
            try:
                yield current
            except BaseException:
                current.staged = staged
                current._drop_callbacks_after(mark)
                raise
            return
        uow = InMemoryUnitOfWork()
        token = _active.set(uow)
        try:
            yield uow
        finally:
            _active.reset(token)
        # Reached only without an exception: an exception skips the commit (rollback).
        uow.commit()
        await uow._run_after_commit()


def _plan(
    filters: tuple[Filter, ...], order: tuple[OrderKey, ...]
) -> tuple[IndexSpec, list[tuple[Any, ...]]]:
    """The index serving a query, and the prefix values whose key ranges hold its rows.

    The prefix is every field filtered with ``eq`` (the first such filter of each field) and
    one field filtered with ``in`` (each of its values is one range); other filters are
    checked row by row.
    """
    equal: dict[str, list[Any]] = {}
    for item in filters:
        if item.op == "eq" and item.field not in equal:
            equal[item.field] = [item.value]
    for item in filters:
        if item.op == "in" and item.field not in equal:
            # dict.fromkeys: a repeated value must not yield its rows twice.
            equal[item.field] = list(dict.fromkeys(item.value))
            break
    names = tuple(sorted(equal))
    prefixes = list(itertools.product(*(equal[name] for name in names)))
    return IndexSpec(names, order), prefixes


def _bounds(
    index: SortedKeys,
    spec: IndexSpec,
    values: tuple[Any, ...],
    filters: tuple[Filter, ...],
    after: tuple[Any, ...] | None,
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The positions between which the rows of one prefix (past the cursor) lie."""
    prefix = spec.prefix_key(values)
    start = index.position(prefix)
    stop = index.position((*prefix, TOP))
    if after is not None:
        start = max(start, index.position(prefix + spec.order_part(after), after=True))
    first = spec.order[0]
    for item in filters:
        if item.field != first.field or item.op not in _RANGE_OPS or first.field in spec.prefix:
            continue
        value = encode(first, item.value)
        # Which side of the bound the matching rows lie on, in index order.
        lower = (item.op in ("gt", "ge")) != first.descending
        inclusive = item.op in ("ge", "le")
        # Keys equal to the bound: included by (value,), excluded by (value, TOP).
        bound = prefix + ((value,) if inclusive == lower else (value, TOP))
        if lower:
            start = max(start, index.position(bound))
        else:
            stop = min(stop, index.position(bound))
    return start, stop

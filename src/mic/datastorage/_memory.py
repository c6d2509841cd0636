"""`InMemoryDataStorage`: a complete, thread- and task-safe backend kept in process memory.

Records are stored as plain data (``model_dump``) and rebuilt on read, so callers never share
mutable state with the store. A unit of work stages writes and validates them against the
committed versions when it commits, under one lock: all or nothing, no partial write.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Generic

from mic.datastorage._base import DataStorage, Filters, ModelT, Page, StorageOptions, UnitOfWork
from mic.datastorage._query import ModelSchema, after_cursor, matches, sort_rows
from mic.model import ConflictError, NotFoundError

Row = dict[str, Any]

# One lock for every in-memory storage: a commit touching several storages is atomic.
_LOCK = threading.RLock()

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
    return ConflictError("already_exists", "a record with this id already exists",
                         {"id": str(record_id)})  # fmt: skip


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
                    if row is None:
                        storage.committed.pop(record_id, None)
                    else:
                        storage.committed[record_id] = row
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
            if row is None:
                del self.committed[record_id]
            else:
                self.committed[record_id] = row

    async def get(self, record_id: Any) -> ModelT | None:
        """The record with id `record_id`, or ``None``."""
        row = self._visible(self.schema.validate_id(record_id))
        return None if row is None else self._load(row)

    async def add(self, record: ModelT) -> ModelT:
        """Store a new record with version 1."""
        row = record.model_dump()
        row["version"] = 1
        record_id = row["id"]

        def check(current: Row | None) -> None:
            if current is not None:
                raise _exists(record_id)

        self._write(record_id, check, row)
        return self._load(row)

    async def update(self, record: ModelT) -> ModelT:
        """Replace the record if ``record.version`` is the stored version."""
        row = record.model_dump()
        record_id, version = row["id"], row["version"]
        row["version"] = version + 1

        def check(current: Row | None) -> None:
            if current is None:
                raise _not_found(record_id)
            if current["version"] != version:
                raise _conflict(record_id, version)

        self._write(record_id, check, row)
        return self._load(row)

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
        rows = [row for row in self._rows() if matches(row, query.filters)]
        if query.after is not None:
            rows = [row for row in rows if after_cursor(row, query.order, query.after)]
        sort_rows(rows, query.order)
        items = [self._load(row) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        next_cursor = self.schema.encode_cursor(query.order, items[-1]) if more else None
        return Page(items, next_cursor)

    async def count(self, filters: Filters = ()) -> int:
        """How many records match."""
        checked = self.schema.filters(filters)
        return sum(1 for row in self._rows() if matches(row, checked))

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

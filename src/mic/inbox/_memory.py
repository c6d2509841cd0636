"""`InMemoryInbox`: processed ids kept in an in-memory storage, committed with its unit of work."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from pydantic import BaseModel

from mic.datastorage import InMemoryDataStorage
from mic.inbox._base import DEFAULT_RETENTION, Clock, Inbox
from mic.model import ConflictError

# Neither a group (letters, digits, '-', '_') nor an event id (no control characters) can
# contain it, so the joined key is unambiguous.
_SEPARATOR = "\x1f"


class _Processed(BaseModel):
    id: str
    version: int = 0
    group: str
    event_id: str
    processed_at: float


class InMemoryInbox(Inbox):
    """An `Inbox` whose records join the in-memory unit of work (`InMemoryDataStorage`).

    The handler's writes to any in-memory storage commit atomically with the record; a
    concurrent duplicate (two consumers of the group got the same event) makes the second
    commit fail with `ConflictError`, so its writes are discarded and the retry finds the
    id recorded.

    Args:
        retention: See `Inbox`.
        purge_interval: See `Inbox`.
        clock: See `Inbox`.
    """

    def __init__(
        self,
        *,
        retention: float = DEFAULT_RETENTION,
        purge_interval: float | None = 3600.0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(retention=retention, purge_interval=purge_interval, clock=clock)
        self.records: InMemoryDataStorage[_Processed] = InMemoryDataStorage(_Processed)

    def __repr__(self) -> str:
        return f"InMemoryInbox(records={len(self.records.committed)})"

    def unit_of_work(self) -> AbstractAsyncContextManager[Any]:
        """Open (or join) the in-memory unit of work."""
        return self.records.unit_of_work()

    async def _record(self, group: str, event_id: str, now: float) -> bool:
        row = _Processed(
            id=f"{group}{_SEPARATOR}{event_id}", group=group, event_id=event_id, processed_at=now
        )
        try:
            await self.records.add(row)
        except ConflictError:
            return False
        return True

    async def seen(self, group: str, event_id: str) -> bool:
        """Whether `group` has processed `event_id` (committed)."""
        return await self.records.get(f"{group}{_SEPARATOR}{event_id}") is not None

    async def purge(self, *, older_than: float | None = None) -> int:
        """Forget ids processed more than `older_than` seconds ago (default `retention`)."""
        cutoff = self.clock() - (self.retention if older_than is None else older_than)
        return await self._delete(lambda row: row["processed_at"] < cutoff)

    async def forget_group(self, group: str) -> int:
        """Forget every id of `group`."""
        return await self._delete(lambda row: row["group"] == group)

    async def _delete(self, doomed: Any) -> int:
        ids = [key for key, row in list(self.records.committed.items()) if doomed(row)]
        for key in ids:
            await self.records.delete(key)
        return len(ids)

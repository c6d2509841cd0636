"""The `OutboxStore` contract and the in-memory store joined to the in-memory unit of work.

A store keeps events written in the same unit of work as the business data (so they commit
or roll back together) until an `OutboxDispatcher` has published them. Payloads and headers
are redacted (`sanitize_payload`) before they are stored.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel

from mic._errors import MicError
from mic.datastorage import InMemoryDataStorage, InMemoryUnitOfWork
from mic.eventbus import Event
from mic.outbox._redaction import TopicRedactionPolicy, sanitize_payload

if TYPE_CHECKING:
    from mic.redaction import RedactionPolicy

MAX_ERROR_LENGTH = 200


class NoUnitOfWorkError(MicError, RuntimeError):
    """An outbox write was made outside a unit of work of the store's backend."""


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One stored event waiting for dispatch.

    Attributes:
        sequence: Position in the outbox (increasing in insertion order).
        event: The (redacted) event.
        attempts: Failed publish attempts so far.
    """

    sequence: int
    event: Event
    attempts: int = 0


@dataclass(slots=True)
class OutboxBatch:
    """Records claimed by one dispatcher; it reports what happened to each.

    Attributes:
        records: The claimed records, in sequence order.
        dispatched: Sequences published successfully.
        failed: Sequence to a short error description (the exception type).
        deadline: Time on the store's `clock` after which another dispatcher may claim
            these records (a SQLite lease running out); the dispatcher publishes none of
            them after it. ``None``: the claim holds until the context ends.
    """

    records: list[OutboxRecord]
    dispatched: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    deadline: float | None = None

    def mark_dispatched(self, record: OutboxRecord) -> None:
        """Record that `record` was published (the store marks it when the claim ends)."""
        self.dispatched.append(record.sequence)

    def mark_failed(self, record: OutboxRecord, error: BaseException) -> None:
        """Record that publishing `record` failed; it stays pending."""
        self.failed[record.sequence] = type(error).__name__[:MAX_ERROR_LENGTH]


class OutboxStore(ABC):
    """Where events wait between the business transaction and the bus.

    Args:
        redaction: Policy applied to every payload and header before storing; the default
            drops the usual secret names and token-looking values. ``None`` stores as is.
        clock: Wall clock in seconds (``time.time``) for the stored times and claim
            deadlines; injectable for tests.

    Errors: `add` raises `NoUnitOfWorkError` outside a unit of work of the store's backend,
    since an event written on its own could survive a rolled-back business write.
    """

    def __init__(
        self,
        *,
        redaction: TopicRedactionPolicy | RedactionPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redaction = TopicRedactionPolicy() if redaction is None else redaction
        self.clock = clock

    def redact(self, event: Event) -> Event:
        """`event` with its payload and headers redacted by the store's policy."""
        payload = sanitize_payload(event.payload, policy=self.redaction, topic=event.topic)
        headers = sanitize_payload(dict(event.headers), policy=self.redaction, topic=event.topic)
        return dataclasses.replace(event, payload=payload, headers=headers)

    async def add(self, event: Event) -> Event:
        """Store `event` (redacted) in the current unit of work; returns what was stored.

        Raises:
            NoUnitOfWorkError: No unit of work of this store's backend is open.
            TypeError: `event` is not an `Event`, or redaction produced a payload or header
                that is not JSON-safe.
        """
        if not isinstance(event, Event):
            raise TypeError(f"the outbox stores an Event, not {type(event).__name__}")
        stored = self.redact(event)
        await self._insert(stored)
        return stored

    @abstractmethod
    async def _insert(self, event: Event) -> None:
        """Write the redacted event through the current unit of work."""

    @abstractmethod
    def claim(self, limit: int, *, owner: str) -> AbstractAsyncContextManager[OutboxBatch]:
        """Claim up to `limit` pending records, oldest first, for dispatcher `owner`.

        While the context is open no other dispatcher gets these records; when it ends, the
        records marked dispatched are never claimed again and the others become pending
        again. If the context exits with an exception, nothing is marked.
        """

    async def release(self, owner: str) -> None:
        """Give up whatever `owner` holds (a dispatcher calls it when it stops)."""
        del owner

    @abstractmethod
    async def pending_count(self) -> int:
        """How many events wait for dispatch."""

    @abstractmethod
    async def purge_dispatched(self, *, older_than: float) -> int:
        """Delete events dispatched more than `older_than` seconds ago; returns the count."""

    probe_name: ClassVar[str] = "outbox"
    """Key of this backend in the readiness answer (`mic.healthcheck.ping_probe`)."""

    async def ping(self) -> None:
        """Raise if the backend cannot serve; this in-process one always can.

        `mic.healthcheck.ping_probe` builds the readiness probe from it. Backends on a
        server override it with a cheap round trip on their own client.
        """
        return


class _OutboxRow(BaseModel):
    id: int
    version: int = 0
    event: str
    dispatched_at: float | None = None
    attempts: int = 0
    last_error: str | None = None


class InMemoryOutboxStore(OutboxStore):
    """An outbox in process memory that commits with the in-memory unit of work.

    Rows live in an `InMemoryDataStorage`, so an event added inside
    ``async with storage.unit_of_work()`` (of any in-memory storage) is applied atomically
    with the business writes at commit, and disappears on rollback. Dispatchers take turns
    (one batch at a time).

    Args:
        redaction: See `OutboxStore`.
        clock: See `OutboxStore`.
    """

    def __init__(
        self,
        *,
        redaction: TopicRedactionPolicy | RedactionPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(redaction=redaction, clock=clock)
        self.rows: InMemoryDataStorage[_OutboxRow] = InMemoryDataStorage(_OutboxRow)
        self._sequence = itertools.count(1)
        self._claim_lock = asyncio.Lock()

    async def _insert(self, event: Event) -> None:
        if InMemoryUnitOfWork.current() is None:
            raise NoUnitOfWorkError(
                "outbox events are written inside `async with storage.unit_of_work()` "
                "of an in-memory storage"
            )
        await self.rows.add(_OutboxRow(id=next(self._sequence), event=event.encode()))

    def _pending(self) -> list[_OutboxRow]:
        rows = [_OutboxRow.model_validate(row) for row in list(self.rows.committed.values())]
        return sorted((row for row in rows if row.dispatched_at is None), key=lambda r: r.id)

    @asynccontextmanager
    async def claim(self, limit: int, *, owner: str) -> AsyncIterator[OutboxBatch]:
        """Claim the oldest pending records (one dispatcher at a time)."""
        del owner
        async with self._claim_lock:
            rows = self._pending()[:limit]
            batch = OutboxBatch(
                [OutboxRecord(row.id, Event.decode(row.event), row.attempts) for row in rows]
            )
            yield batch
            # In a context of its own: a dispatcher started (or called) inside a unit of work
            # would otherwise stage its marks there, and they would never be committed.
            await asyncio.create_task(self._mark(rows, batch), context=contextvars.Context())

    async def _mark(self, rows: list[_OutboxRow], batch: OutboxBatch) -> None:
        now = self.clock()
        for row in rows:
            if row.id in batch.dispatched:
                await self.rows.update(row.model_copy(update={"dispatched_at": now}))
            elif row.id in batch.failed:
                changes = {"attempts": row.attempts + 1, "last_error": batch.failed[row.id]}
                await self.rows.update(row.model_copy(update=changes))

    async def pending_count(self) -> int:
        """How many events wait for dispatch."""
        return len(self._pending())

    async def purge_dispatched(self, *, older_than: float) -> int:
        """Delete events dispatched more than `older_than` seconds ago."""
        cutoff = self.clock() - older_than
        old = [
            row_id
            for row_id, row in list(self.rows.committed.items())
            if row["dispatched_at"] is not None and row["dispatched_at"] < cutoff
        ]
        for row_id in old:
            await self.rows.delete(row_id)
        return len(old)

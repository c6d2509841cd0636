"""`SqlOutboxStore`: the outbox as a table written through the current SQL unit of work.

PostgreSQL: a dispatcher claims rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` and keeps
them locked while it publishes, so concurrent dispatchers never publish the same row and
a crashed dispatcher's rows unlock with its transaction. SQLite has no row locks: one
dispatcher at a time holds a lease (a row in ``<table>_lease``); rows are read, published
and marked in short transactions so business writes are never blocked by a publish.
Requires the ``sql`` extra (``postgres`` for PostgreSQL).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mic._checks import check_duration
from mic._deps import require
from mic._ping import ping_sql
from mic.datastorage import SqlUnitOfWork
from mic.eventbus import Event
from mic.outbox._store import NoUnitOfWorkError, OutboxBatch, OutboxRecord, OutboxStore

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from mic.outbox._redaction import TopicRedactionPolicy
    from mic.redaction import RedactionPolicy


class SqlOutboxStore(OutboxStore):
    """An `OutboxStore` on a SQL table (SQLite or PostgreSQL).

    Args:
        engine: The `AsyncEngine` of the business storages (`SqlDataStorage`): `add` joins
            their unit of work on this engine.
        table_name: The outbox table (``<table_name>_lease`` holds the SQLite lease).
        schema: Database schema of both tables (PostgreSQL), default the search path.
        redaction: See `OutboxStore`.
        lease_ttl: SQLite: seconds a dispatcher's lease lasts without renewal (each claim
            renews it); another dispatcher takes over after that.
        clock: See `OutboxStore` (the lease's expiry is read on it too).

    Raises:
        MissingDependencyError: The ``sql`` extra is not installed.
        ValueError: An empty table name or a non-positive `lease_ttl`.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        table_name: str = "mic_outbox",
        schema: str | None = None,
        redaction: TopicRedactionPolicy | RedactionPolicy | None = None,
        lease_ttl: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        sa = require("sqlalchemy", "sql")
        super().__init__(redaction=redaction, clock=clock)
        if not table_name:
            raise ValueError("table_name must not be empty")
        check_duration("lease_ttl", lease_ttl)
        self.engine = engine
        self.lease_ttl = lease_ttl
        self._sa = sa
        metadata = sa.MetaData(schema=schema)
        big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
        self.table: Table = sa.Table(
            table_name,
            metadata,
            sa.Column("sequence", big, primary_key=True, autoincrement=True),
            sa.Column("event_id", sa.String(200), nullable=False),
            sa.Column("topic", sa.String(200), nullable=False),
            sa.Column("event", sa.Text(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("dispatched_at", sa.Float(), nullable=True),
            sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
            sa.Column("last_error", sa.String(200), nullable=True),
        )
        pending = self.table.c.dispatched_at.is_(None)
        sa.Index(
            f"{table_name}_pending",
            self.table.c.sequence,
            postgresql_where=pending,
            sqlite_where=pending,
        )
        self.lease_table: Table = sa.Table(
            f"{table_name}_lease",
            metadata,
            sa.Column("name", sa.String(200), primary_key=True),
            sa.Column("owner", sa.String(200), nullable=False),
            sa.Column("expires_at", sa.Float(), nullable=False),
        )
        self._metadata = metadata

    def __repr__(self) -> str:
        return f"SqlOutboxStore({self.table.fullname!r})"

    @property
    def _postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def ping(self) -> None:
        """``SELECT 1`` on this store's engine: the readiness check."""
        await ping_sql(self.engine)

    async def create_schema(self) -> None:
        """Create the outbox tables if missing (development and tests; migrate in production)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self._metadata.create_all, checkfirst=True)

    async def drop_schema(self) -> None:
        """Drop the outbox tables if they exist."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self._metadata.drop_all, checkfirst=True)

    async def _insert(self, event: Event) -> None:
        uow = SqlUnitOfWork.current()
        if uow is None or uow.engine is not self.engine:
            raise NoUnitOfWorkError(
                "outbox events are written inside `async with storage.unit_of_work()` of a "
                "SqlDataStorage on the outbox's engine"
            )
        values = {
            "event_id": event.id,
            "topic": event.topic,
            "event": event.encode(),
            "created_at": self.clock(),
        }
        async with uow.lock:
            await uow.connection.execute(self._sa.insert(self.table), values)

    def _select_pending(self, limit: int) -> Any:
        table = self.table
        return (
            self._sa.select(table.c.sequence, table.c.event, table.c.attempts)
            .where(table.c.dispatched_at.is_(None))
            .order_by(table.c.sequence)
            .limit(limit)
        )

    @asynccontextmanager
    async def claim(self, limit: int, *, owner: str) -> AsyncIterator[OutboxBatch]:
        """Claim up to `limit` pending rows (row locks on PostgreSQL, a lease on SQLite)."""
        if self._postgres:
            async with self.engine.begin() as connection:
                statement = self._select_pending(limit).with_for_update(skip_locked=True)
                batch = _batch((await connection.execute(statement)).all())
                yield batch
                await self._finish(connection, batch)
            return
        taken_at = self.clock()
        async with self.engine.begin() as connection:
            held = await self._take_lease(connection, owner, taken_at)
            rows = (await connection.execute(self._select_pending(limit))).all() if held else []
        batch = _batch(rows)
        # Publishing stops well before the lease lapses (another dispatcher could then claim
        # the same rows), leaving a fifth of it to record the marks.
        batch.deadline = taken_at + self.lease_ttl * 0.8
        yield batch
        if batch.dispatched or batch.failed:
            async with self.engine.begin() as connection:
                await self._finish(connection, batch)

    async def _take_lease(self, connection: AsyncConnection, owner: str, now: float) -> bool:
        sa, lease = self._sa, self.lease_table
        taken = await connection.execute(
            sa.update(lease)
            .where(
                lease.c.name == self.table.name,
                sa.or_(lease.c.owner == owner, lease.c.expires_at < now),
            )
            .values(owner=owner, expires_at=now + self.lease_ttl)
        )
        if taken.rowcount == 1:
            return True
        sqlite = require("sqlalchemy.dialects.sqlite", "sql")
        created = await connection.execute(
            sqlite.insert(lease)
            .values(name=self.table.name, owner=owner, expires_at=now + self.lease_ttl)
            .on_conflict_do_nothing()
        )
        return bool(created.rowcount == 1)

    async def release(self, owner: str) -> None:
        """Give up `owner`'s SQLite lease so another dispatcher takes over at once."""
        if self._postgres:
            return
        lease = self.lease_table
        async with self.engine.begin() as connection:
            await connection.execute(
                self._sa.update(lease)
                .where(lease.c.name == self.table.name, lease.c.owner == owner)
                .values(expires_at=0.0)
            )

    async def _finish(self, connection: AsyncConnection, batch: OutboxBatch) -> None:
        sa, table = self._sa, self.table
        if batch.dispatched:
            await connection.execute(
                sa.update(table)
                .where(table.c.sequence.in_(batch.dispatched))
                .values(dispatched_at=self.clock())
            )
        for sequence, error in batch.failed.items():
            await connection.execute(
                sa.update(table)
                .where(table.c.sequence == sequence)
                .values(attempts=table.c.attempts + 1, last_error=error)
            )

    async def pending_count(self) -> int:
        """How many events wait for dispatch."""
        sa, table = self._sa, self.table
        statement = (
            sa.select(sa.func.count()).select_from(table).where(table.c.dispatched_at.is_(None))
        )
        async with self.engine.connect() as connection:
            return int((await connection.execute(statement)).scalar_one())

    async def purge_dispatched(self, *, older_than: float) -> int:
        """Delete events dispatched more than `older_than` seconds ago."""
        table = self.table
        cutoff = self.clock() - older_than
        async with self.engine.begin() as connection:
            result = await connection.execute(
                self._sa.delete(table).where(table.c.dispatched_at < cutoff)
            )
        return int(result.rowcount)


def _batch(rows: Any) -> OutboxBatch:
    return OutboxBatch(
        [
            OutboxRecord(int(row.sequence), Event.decode(row.event), int(row.attempts))
            for row in rows
        ]
    )

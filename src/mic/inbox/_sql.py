"""`SqlInbox`: processed ids in a SQL table, inserted in the handler's SQL unit of work."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, cast

from mic._deps import require
from mic._ping import ping_sql
from mic.datastorage import SqlUnitOfWork
from mic.inbox._base import DEFAULT_RETENTION, Clock, Inbox

if TYPE_CHECKING:
    from sqlalchemy import Table

    from mic.datastorage import SqlDataStorage


class SqlInbox(Inbox):
    """An `Inbox` on a table of the database the handler writes to (SQLite or PostgreSQL).

    `process` opens a unit of work on `storage` (joining one already open), inserts
    ``(group, event_id)`` with ``ON CONFLICT DO NOTHING`` and runs the handler; every
    `SqlDataStorage` on the same engine, and `SqlUnitOfWork.connection`, join that
    transaction. On PostgreSQL a concurrent duplicate waits on the primary key until the
    first transaction ends, then sees the row: the handler runs once.

    Args:
        storage: A `SqlDataStorage` on the engine the handler writes through.
        table_name: The inbox table (primary key ``(consumer_group, event_id)``).
        schema: Database schema (PostgreSQL), default the search path.
        retention: See `Inbox`.
        purge_interval: See `Inbox`.
        clock: See `Inbox`.

    Raises:
        MissingDependencyError: The ``sql`` extra is not installed.
        ValueError: An empty table name, or a bad duration.
    """

    async def ping(self) -> None:
        """``SELECT 1`` on this inbox's engine: the readiness check."""
        await ping_sql(self.engine)

    def __init__(
        self,
        storage: SqlDataStorage[Any],
        *,
        table_name: str = "mic_inbox",
        schema: str | None = None,
        retention: float = DEFAULT_RETENTION,
        purge_interval: float | None = 3600.0,
        clock: Clock | None = None,
    ) -> None:
        sa = require("sqlalchemy", "sql")
        super().__init__(retention=retention, purge_interval=purge_interval, clock=clock)
        if not table_name:
            raise ValueError("table_name must not be empty")
        self.storage = storage
        self.engine = storage.engine
        self._sa = sa
        self._metadata = sa.MetaData(schema=schema)
        self.table: Table = sa.Table(
            table_name,
            self._metadata,
            sa.Column("consumer_group", sa.String(100), primary_key=True),
            sa.Column("event_id", sa.String(200), primary_key=True),
            sa.Column("processed_at", sa.Float(), nullable=False),
        )
        sa.Index(f"{table_name}_processed_at", self.table.c.processed_at)
        dialect = "postgresql" if self.engine.dialect.name == "postgresql" else "sqlite"
        self._insert = require(f"sqlalchemy.dialects.{dialect}", "sql").insert

    def __repr__(self) -> str:
        return f"SqlInbox({self.table.fullname!r})"

    async def create_schema(self) -> None:
        """Create the inbox table if missing (development and tests; migrate in production)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self._metadata.create_all, checkfirst=True)

    async def drop_schema(self) -> None:
        """Drop the inbox table if it exists."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self._metadata.drop_all, checkfirst=True)

    def unit_of_work(self) -> AbstractAsyncContextManager[Any]:
        """Open (or join) the SQL unit of work on the storage's engine."""
        return self.storage.unit_of_work()

    async def _record(self, group: str, event_id: str, now: float) -> bool:
        # `process` opened (or joined) it on our engine just before.
        uow = cast("SqlUnitOfWork", SqlUnitOfWork.current())
        statement = (
            self._insert(self.table)
            .values(consumer_group=group, event_id=event_id, processed_at=now)
            .on_conflict_do_nothing()
            .returning(self.table.c.event_id)
        )
        async with uow.lock:
            result = await uow.connection.execute(statement)
        return result.first() is not None

    async def seen(self, group: str, event_id: str) -> bool:
        """Whether `group` has processed `event_id` (committed)."""
        table = self.table
        statement = self._sa.select(table.c.event_id).where(
            table.c.consumer_group == group, table.c.event_id == event_id
        )
        async with self.engine.connect() as connection:
            return (await connection.execute(statement)).first() is not None

    async def purge(self, *, older_than: float | None = None) -> int:
        """Forget ids processed more than `older_than` seconds ago (default `retention`)."""
        cutoff = self.clock() - (self.retention if older_than is None else older_than)
        return await self._delete(self.table.c.processed_at < cutoff)

    async def forget_group(self, group: str) -> int:
        """Forget every id of `group`."""
        return await self._delete(self.table.c.consumer_group == group)

    async def _delete(self, condition: Any) -> int:
        async with self.engine.begin() as connection:
            result = await connection.execute(self._sa.delete(self.table).where(condition))
        return int(result.rowcount)

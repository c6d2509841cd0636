"""`SqlIdempotencyStore`: idempotency records in a SQL table (SQLite or PostgreSQL).

Claims rely on the primary key: of concurrent INSERTs exactly one succeeds. An expired record
is taken over by an UPDATE conditioned on the expiry it was read with, so two takeovers
cannot both win. Times are wall-clock seconds (``time.time``), shared by every worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mic._deps import require
from mic._ping import ping_sql
from mic.idempotency._store import IdempotencyRecord, IdempotencyStore, StoredResponse

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncEngine


PURGE_EVERY = 1000
"""`SqlIdempotencyStore.begin` deletes expired records once every this many claims."""


class SqlIdempotencyStore(IdempotencyStore):
    """Records in table `table_name` (key, record JSON, owner, expiry).

    Args:
        engine: An `AsyncEngine` (see `mic.datastorage.create_sql_engine`).
        table_name: Table to use; `create_schema` creates it (migrate it with Alembic in
            production: `metadata` holds its definition).
        clock: Wall clock in seconds (injectable for tests).

    Raises:
        MissingDependencyError: The ``sql`` extra is not installed.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        table_name: str = "mic_idempotency_keys",
        clock: Callable[[], float] = time.time,
    ) -> None:
        sa = require("sqlalchemy", "sql")
        self._sa = sa
        self.engine = engine
        self.metadata = sa.MetaData()
        self.table: Table = sa.Table(
            table_name,
            self.metadata,
            sa.Column("key", sa.String(128), primary_key=True),
            sa.Column("owner", sa.String(64), nullable=True),
            sa.Column("record", sa.Text, nullable=False),
            sa.Column("expires_at", sa.Float, nullable=False),
        )
        self._clock = clock
        self._claims = 0

    async def ping(self) -> None:
        """``SELECT 1`` on this store's engine: the readiness check."""
        await ping_sql(self.engine)

    async def create_schema(self) -> None:
        """Create the table if it does not exist (development and tests)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.create_all)

    async def drop_schema(self) -> None:
        """Drop the table if it exists."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.drop_all)

    async def purge_expired(self) -> int:
        """Delete every expired record; how many were deleted.

        `begin` also runs it once every `PURGE_EVERY` claims of this process, so the table
        stays proportional to the live keys; call it from a scheduled job for a tighter bound.
        """
        sa, table = self._sa, self.table
        async with self.engine.begin() as connection:
            result = await connection.execute(
                sa.delete(table).where(table.c.expires_at <= self._clock())
            )
        return int(result.rowcount)

    async def begin(
        self, key: str, fingerprint: str, owner: str, *, lease: float
    ) -> IdempotencyRecord | None:
        """Claim `key` if it is free or expired."""
        self._claims += 1
        if self._claims % PURGE_EVERY == 0:
            await self.purge_expired()
        sa, table = self._sa, self.table
        record = IdempotencyRecord(fingerprint, owner, None).to_json()
        values: dict[str, Any] = {"key": key, "owner": owner, "record": record}
        while True:
            values["expires_at"] = self._clock() + lease
            try:
                async with self.engine.begin() as connection:
                    await connection.execute(sa.insert(table).values(**values))
            except sa.exc.IntegrityError:
                pass
            else:
                return None
            async with self.engine.begin() as connection:
                row = (await connection.execute(
                    sa.select(table.c.record, table.c.expires_at).where(table.c.key == key)
                )).first()  # fmt: skip
                if row is None:
                    continue  # deleted meanwhile: insert again
                if row.expires_at > self._clock():
                    return IdempotencyRecord.from_json(row.record)
                taken = await connection.execute(
                    sa.update(table)
                    .where(table.c.key == key, table.c.expires_at == row.expires_at)
                    .values(owner=owner, record=record, expires_at=values["expires_at"])
                )
                if taken.rowcount == 1:
                    return None

    async def complete(self, key: str, owner: str, response: StoredResponse, *, ttl: float) -> bool:
        """Store the response if `owner` still holds the key."""
        sa, table = self._sa, self.table
        async with self.engine.begin() as connection:
            row = (await connection.execute(
                sa.select(table.c.record).where(table.c.key == key, table.c.owner == owner)
            )).first()  # fmt: skip
            if row is None:
                return False
            fingerprint = IdempotencyRecord.from_json(row.record).fingerprint
            done = IdempotencyRecord(fingerprint, None, response).to_json()
            result = await connection.execute(
                sa.update(table)
                .where(table.c.key == key, table.c.owner == owner)
                .values(owner=None, record=done, expires_at=self._clock() + ttl)
            )
            return bool(result.rowcount == 1)

    async def release(self, key: str, owner: str) -> None:
        """Free the key if `owner` still holds it."""
        sa, table = self._sa, self.table
        async with self.engine.begin() as connection:
            await connection.execute(
                sa.delete(table).where(table.c.key == key, table.c.owner == owner)
            )

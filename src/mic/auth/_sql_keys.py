"""`SqlApiKeyStore`: API keys in a SQL table, through SQLAlchemy's asyncio engine.

Works with any async driver SQLAlchemy supports (aiosqlite, psycopg 3...); extra ``sql``.
Only digests are stored, so a leaked table does not leak usable keys.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mic._deps import require
from mic._ping import ping_sql
from mic.auth._api_keys import ApiKey, ApiKeyStore

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import AsyncEngine


_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def _utc(value: datetime) -> datetime:
    # SQLite keeps no time zone: values are written in UTC, so read them back as UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SqlApiKeyStore(ApiKeyStore):
    """API keys in table `table_name`: key id, name, SHA-256 digest, scopes, dates.

    Args:
        engine: An SQLAlchemy `AsyncEngine` (``sqlite+aiosqlite://...``,
            ``postgresql+psycopg://...``); the caller owns and disposes it.
        table_name: The table to use; create it with `create_table` or a migration.

    Raises:
        MissingDependencyError: SQLAlchemy is not installed (extra ``sql``).
        ValueError: `table_name` is not a plain SQL identifier.
    """

    def __init__(self, engine: AsyncEngine, *, table_name: str = "mic_api_keys") -> None:
        sql: Any = require("sqlalchemy", "sql")
        if not _TABLE_NAME.fullmatch(table_name):
            raise ValueError(f"table_name {table_name!r} is not a plain SQL identifier")
        self.engine = engine
        self._sql = sql
        self.table: sa.Table = sql.Table(
            table_name,
            sql.MetaData(),
            sql.Column("key_id", sql.String(32), primary_key=True),
            sql.Column("name", sql.String(200), nullable=False),
            sql.Column("digest", sql.String(64), nullable=False),
            sql.Column("scopes", sql.Text(), nullable=False),
            sql.Column("created_at", sql.DateTime(timezone=True), nullable=False),
            sql.Column("revoked_at", sql.DateTime(timezone=True), nullable=True),
        )

    async def ping(self) -> None:
        """``SELECT 1`` on this store's engine: the readiness check."""
        await ping_sql(self.engine)

    async def create_schema(self) -> None:
        """Create the table if it does not exist (the verb of every SQL store, ADR 0067)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self.table.create, checkfirst=True)

    async def drop_schema(self) -> None:
        """Drop the table if it exists."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self.table.drop, checkfirst=True)

    async def create_table(self) -> None:
        """Deprecated: use `create_schema`, the verb every SQL store shares."""
        warnings.warn(
            "SqlApiKeyStore.create_table() is deprecated; use create_schema()",
            DeprecationWarning,
            stacklevel=2,
        )
        await self.create_schema()

    async def drop_table(self) -> None:
        """Deprecated: use `drop_schema`, the verb every SQL store shares."""
        warnings.warn(
            "SqlApiKeyStore.drop_table() is deprecated; use drop_schema()",
            DeprecationWarning,
            stacklevel=2,
        )
        await self.drop_schema()

    async def revoke(self, key_id: str) -> bool:
        """Revoke `key_id`; ``False`` when no such key exists. Revoking twice keeps the date."""
        table = self.table
        async with self.engine.begin() as connection:
            result = await connection.execute(
                self._sql.update(table)
                .where(table.c.key_id == key_id, table.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            if result.rowcount:
                return True
            found = await connection.execute(
                self._sql.select(table.c.key_id).where(table.c.key_id == key_id)
            )
            return found.first() is not None

    async def list_keys(self) -> list[ApiKey]:
        """Every key record, oldest first."""
        table = self.table
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                self._sql.select(table).order_by(table.c.created_at, table.c.key_id)
            )
            return [self._record(row) for row in rows]

    async def _insert(self, record: ApiKey, digest: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                self.table.insert().values(
                    key_id=record.key_id,
                    name=record.name,
                    digest=digest,
                    scopes=" ".join(sorted(record.scopes)),
                    created_at=record.created_at,
                    revoked_at=None,
                )
            )

    async def _find(self, key_id: str) -> tuple[ApiKey, str] | None:
        table = self.table
        async with self.engine.connect() as connection:
            result = await connection.execute(
                self._sql.select(table).where(table.c.key_id == key_id)
            )
            row = result.first()
        return None if row is None else (self._record(row), str(row.digest))

    @staticmethod
    def _record(row: Any) -> ApiKey:
        return ApiKey(
            key_id=row.key_id,
            name=row.name,
            scopes=frozenset(row.scopes.split()),
            created_at=_utc(row.created_at),
            revoked_at=None if row.revoked_at is None else _utc(row.revoked_at),
        )

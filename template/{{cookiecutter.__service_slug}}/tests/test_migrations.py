"""The Alembic migrations: they build the schema the SQL repository uses, and undo it."""

from __future__ import annotations

import sqlalchemy as sa

from tests.support import migrate


def _tables(path: str) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_the_items_table_and_downgrade_removes_it(database: str) -> None:
    path = database.removeprefix("sqlite+aiosqlite:///")
    assert {"alembic_version", "items"} == _tables(path)
    migrate(database, "base")
    assert {"alembic_version"} == _tables(path)

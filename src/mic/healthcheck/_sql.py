"""Readiness probe for a SQL database: ``SELECT 1`` through a SQLAlchemy async engine."""

from __future__ import annotations

from typing import Any

from mic._deps import require
from mic.healthcheck._checker import Probe


def sql_probe(
    engine: Any, *, name: str = "sql", timeout: float = 2.0, required: bool = True
) -> Probe:
    """A probe running ``SELECT 1`` on a connection from `engine` (an ``AsyncEngine``).

    Raises:
        MissingDependencyError: SQLAlchemy is not installed (extra ``sql``).
    """
    sqlalchemy = require("sqlalchemy", "sql")
    statement = sqlalchemy.text("SELECT 1")

    async def check() -> None:
        async with engine.connect() as connection:
            await connection.execute(statement)

    return Probe(name, check, timeout=timeout, required=required)

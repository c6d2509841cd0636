"""The items table, as SQLAlchemy Core: what the SQL repository queries and Alembic migrates."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

items = sa.Table(
    "items",
    metadata,
    # Creation order for pages: an integer that only grows, independent of the random ids.
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.Uuid, nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("quantity", sa.Integer, nullable=False),
)

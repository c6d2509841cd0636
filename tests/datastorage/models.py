"""Table models shared by the datastorage tests (table names unique to this suite)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class Item(SQLModel, table=True):
    """An aggregate with every kind of field the behaviour suite needs."""

    __tablename__ = "mic_test_item"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = 0
    name: str
    price: float
    category: str | None = None


class Tag(SQLModel, table=True):
    """A second aggregate, to show that a unit of work spans storages."""

    __tablename__ = "mic_test_tag"

    id: str = Field(primary_key=True, max_length=20)
    version: int = 0
    label: str


class Profile(SQLModel, table=True):
    """An aggregate with a JSON column (no order, and no equality on PostgreSQL's json)."""

    __tablename__ = "mic_test_profile"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = 0
    name: str = ""
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))

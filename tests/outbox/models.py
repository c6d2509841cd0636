"""A business aggregate for the outbox tests (table name unique to this suite)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Order(SQLModel, table=True):
    """An order written in the same unit of work as its events."""

    __tablename__ = "mic_test_outbox_order"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = 0
    total: float

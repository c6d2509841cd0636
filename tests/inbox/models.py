"""A business table for the inbox tests: one row per applied effect (table name unique here)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Applied(SQLModel, table=True):
    """An effect a handler writes; a second write of the same id would be a second effect."""

    __tablename__ = "mic_test_inbox_applied"

    id: str = Field(primary_key=True)
    version: int = 0
    amount: int = 0

"""A tenant-owned aggregate for the sharding tests (table name unique to this suite)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Account(SQLModel, table=True):
    """An account of a tenant; `tenant_id` chooses its shard."""

    __tablename__ = "mic_test_shard_account"

    id: str = Field(primary_key=True)
    version: int = 0
    tenant_id: str | None = None
    name: str
    balance: int = 0

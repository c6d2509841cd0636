"""`SqlItemRepository`: items in a SQL database (SQLite or PostgreSQL) through SQLAlchemy.

The schema comes from Alembic (``make migrate``); the unique name is enforced by the
database, so two concurrent creations of one name cannot both succeed.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from {{ cookiecutter.__package_name }}.items.contracts import Item, ItemPayload
from {{ cookiecutter.__package_name }}.items.repository import (
    ItemRepository,
    item_name_taken,
    item_not_found,
)
from {{ cookiecutter.__package_name }}.items.tables import items

_COLUMNS = (items.c.id, items.c.name, items.c.quantity)


def _item(row: Any) -> Item:
    return Item(id=row.id, name=row.name, quantity=row.quantity)


class SqlItemRepository(ItemRepository):
    """Items in the ``items`` table of `engine`'s database; `aclose` disposes the engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, payload: ItemPayload) -> Item:
        item = Item(id=uuid.uuid4(), name=payload.name, quantity=payload.quantity)
        try:
            async with self.engine.begin() as connection:
                await connection.execute(sa.insert(items).values(**item.model_dump()))
        except IntegrityError:
            raise item_name_taken(payload.name) from None
        return item

    async def get(self, item_id: uuid.UUID) -> Item:
        async with self.engine.connect() as connection:
            result = await connection.execute(sa.select(*_COLUMNS).where(items.c.id == item_id))
            row = result.first()
        if row is None:
            raise item_not_found(item_id)
        return _item(row)

    async def page(self, offset: int, limit: int) -> list[Item]:
        query = sa.select(*_COLUMNS).order_by(items.c.position).offset(offset).limit(limit)
        async with self.engine.connect() as connection:
            return [_item(row) for row in await connection.execute(query)]

    async def replace(self, item_id: uuid.UUID, payload: ItemPayload) -> Item:
        statement = (
            sa.update(items)
            .where(items.c.id == item_id)
            .values(name=payload.name, quantity=payload.quantity)
        )
        try:
            async with self.engine.begin() as connection:
                result = await connection.execute(statement)
        except IntegrityError:
            raise item_name_taken(payload.name) from None
        if result.rowcount == 0:
            raise item_not_found(item_id)
        return Item(id=item_id, name=payload.name, quantity=payload.quantity)

    async def delete(self, item_id: uuid.UUID) -> None:
        async with self.engine.begin() as connection:
            result = await connection.execute(sa.delete(items).where(items.c.id == item_id))
        if result.rowcount == 0:
            raise item_not_found(item_id)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))

    async def aclose(self) -> None:
        """Close the engine's connections (the service calls it at shutdown)."""
        await self.engine.dispose()

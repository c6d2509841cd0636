"""Where items live: the storage interface the handlers use, and an in-memory backend.

Swap `InMemoryItemRepository` for a database-backed `ItemRepository` (SQL, document store...)
without touching handlers or routes: they only know the interface.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod

from mic.model import ConflictError, NotFoundError

from {{ cookiecutter.__package_name }}.items.contracts import Item, ItemPayload


def item_not_found(item_id: uuid.UUID) -> NotFoundError:
    """The error every backend raises for an unknown item id."""
    return NotFoundError("item_not_found", f"Item {item_id} does not exist", {"id": str(item_id)})


def item_name_taken(name: str) -> ConflictError:
    """The error every backend raises when another item already has `name`."""
    return ConflictError("item_name_taken", f"An item named {name!r} exists", {"name": name})


class ItemRepository(ABC):
    """Async storage of items; names are unique.

    Every method may raise the backend's own errors; `ping` is the readiness check.
    """

    @abstractmethod
    async def add(self, payload: ItemPayload) -> Item:
        """Store a new item with a fresh id.

        Raises:
            ConflictError: Another item has the same name (``item_name_taken``).
        """

    @abstractmethod
    async def get(self, item_id: uuid.UUID) -> Item:
        """The item `item_id`.

        Raises:
            NotFoundError: No such item (``item_not_found``).
        """

    @abstractmethod
    async def page(self, offset: int, limit: int) -> list[Item]:
        """Up to `limit` items in creation order, skipping the first `offset`."""

    @abstractmethod
    async def replace(self, item_id: uuid.UUID, payload: ItemPayload) -> Item:
        """Overwrite item `item_id` with `payload`.

        Raises:
            NotFoundError: No such item (``item_not_found``).
            ConflictError: Another item has the new name (``item_name_taken``).
        """

    @abstractmethod
    async def delete(self, item_id: uuid.UUID) -> None:
        """Remove item `item_id`.

        Raises:
            NotFoundError: No such item (``item_not_found``).
        """

    @abstractmethod
    async def ping(self) -> None:
        """Return when the storage can serve requests; raise otherwise."""


class InMemoryItemRepository(ItemRepository):
    """Items in a dict: complete and fast, but per process and lost on restart.

    Safe on one event loop: no method awaits between reading and writing the dict.
    """

    def __init__(self) -> None:
        self._items: dict[uuid.UUID, Item] = {}

    def _check_name_free(self, name: str, owner: uuid.UUID | None = None) -> None:
        if any(item.name == name and item.id != owner for item in self._items.values()):
            raise item_name_taken(name)

    async def add(self, payload: ItemPayload) -> Item:
        self._check_name_free(payload.name)
        item = Item(id=uuid.uuid4(), name=payload.name, quantity=payload.quantity)
        self._items[item.id] = item
        return item

    async def get(self, item_id: uuid.UUID) -> Item:
        if item_id not in self._items:
            raise item_not_found(item_id)
        return self._items[item_id]

    async def page(self, offset: int, limit: int) -> list[Item]:
        return list(self._items.values())[offset : offset + limit]

    async def replace(self, item_id: uuid.UUID, payload: ItemPayload) -> Item:
        if item_id not in self._items:
            raise item_not_found(item_id)
        self._check_name_free(payload.name, owner=item_id)
        item = Item(id=item_id, name=payload.name, quantity=payload.quantity)
        self._items[item_id] = item
        return item

    async def delete(self, item_id: uuid.UUID) -> None:
        if self._items.pop(item_id, None) is None:
            raise item_not_found(item_id)

    async def ping(self) -> None:
        return None

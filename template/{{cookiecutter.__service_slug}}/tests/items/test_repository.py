"""The in-memory repository keeps every promise of the `ItemRepository` interface."""

from __future__ import annotations

import uuid

import pytest
from mic.model import ConflictError, NotFoundError

from {{ cookiecutter.__package_name }}.items.contracts import ItemPayload
from {{ cookiecutter.__package_name }}.items.repository import ItemRepository

UNKNOWN = uuid.UUID("00000000-0000-4000-8000-000000000000")


async def test_an_added_item_can_be_read_back(repository: ItemRepository) -> None:
    item = await repository.add(ItemPayload(name="bolt", quantity=3))
    assert item == await repository.get(item.id)
    assert (item.name, item.quantity) == ("bolt", 3)


async def test_names_are_unique(repository: ItemRepository) -> None:
    await repository.add(ItemPayload(name="bolt"))
    with pytest.raises(ConflictError, match="An item named 'bolt' exists"):
        await repository.add(ItemPayload(name="bolt"))


async def test_pages_follow_creation_order(repository: ItemRepository) -> None:
    names = ["a", "b", "c", "d"]
    for name in names:
        await repository.add(ItemPayload(name=name))
    assert [item.name for item in await repository.page(1, 2)] == ["b", "c"]
    assert await repository.page(4, 10) == []


async def test_replace_keeps_the_id(repository: ItemRepository) -> None:
    item = await repository.add(ItemPayload(name="bolt"))
    replaced = await repository.replace(item.id, ItemPayload(name="nut", quantity=5))
    assert (item.id, "nut", 5) == (replaced.id, replaced.name, replaced.quantity)
    assert replaced == await repository.get(item.id)


async def test_replace_may_keep_its_own_name(repository: ItemRepository) -> None:
    item = await repository.add(ItemPayload(name="bolt"))
    assert (await repository.replace(item.id, ItemPayload(name="bolt", quantity=7))).quantity == 7


async def test_replace_cannot_take_another_items_name(
    repository: ItemRepository,
) -> None:
    await repository.add(ItemPayload(name="bolt"))
    nut = await repository.add(ItemPayload(name="nut"))
    with pytest.raises(ConflictError, match="An item named 'bolt' exists"):
        await repository.replace(nut.id, ItemPayload(name="bolt"))


async def test_delete_removes_the_item(repository: ItemRepository) -> None:
    item = await repository.add(ItemPayload(name="bolt"))
    await repository.delete(item.id)
    with pytest.raises(NotFoundError, match=f"Item {item.id} does not exist"):
        await repository.get(item.id)


async def test_unknown_ids_are_not_found(repository: ItemRepository) -> None:
    with pytest.raises(NotFoundError, match=f"Item {UNKNOWN} does not exist"):
        await repository.get(UNKNOWN)
    with pytest.raises(NotFoundError, match=f"Item {UNKNOWN} does not exist"):
        await repository.replace(UNKNOWN, ItemPayload(name="bolt"))
    with pytest.raises(NotFoundError, match=f"Item {UNKNOWN} does not exist"):
        await repository.delete(UNKNOWN)


async def test_a_working_repository_is_ready(
    repository: ItemRepository,
) -> None:
    await repository.ping()

"""Item handlers called directly: no framework, no HTTP."""

from __future__ import annotations

import pytest
from mic.model import NotFoundError

from {{ cookiecutter.__package_name }}.items.contracts import Item, ItemPayload
from {{ cookiecutter.__package_name }}.items.handlers import ItemHandlers
from {{ cookiecutter.__package_name }}.items.repository import ItemRepository


@pytest.fixture
def handlers(repository: ItemRepository) -> ItemHandlers:
    """Handlers over the test's repository."""
    return ItemHandlers(repository)


async def test_create_answers_201_with_location(handlers: ItemHandlers) -> None:
    answer = await handlers.create_item(payload=ItemPayload(name="bolt", quantity=2))
    item = answer.body.data
    assert isinstance(item, Item)
    assert answer.status_code == 201
    assert {"Location": f"/items/{item.id}"} == answer.headers


async def test_list_echoes_the_paging(handlers: ItemHandlers) -> None:
    for name in ("a", "b", "c"):
        await handlers.create_item(payload=ItemPayload(name=name))
    page = await handlers.list_items(offset=1, limit=1)
    assert [item.name for item in page.data] == ["b"]
    assert page.meta == {"offset": 1, "limit": 1}


async def test_get_replace_delete(handlers: ItemHandlers) -> None:
    item = (await handlers.create_item(payload=ItemPayload(name="bolt"))).body.data
    assert item == (await handlers.get_item(item_id=item.id)).data
    replaced = await handlers.replace_item(item_id=item.id, payload=ItemPayload(name="nut"))
    assert replaced.data.name == "nut"
    await handlers.delete_item(item_id=item.id)
    with pytest.raises(NotFoundError, match="does not exist"):
        await handlers.get_item(item_id=item.id)

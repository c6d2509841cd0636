"""Item handlers: plain async functions of typed arguments, the same on every framework.

Each handler gets its inputs as keyword-only arguments (path, query, body) and answers a
value, an `HttpResponseSpec`, or raises a `DomainError` that becomes a problem+json answer.
Nothing here imports a web framework, so the tests call them directly.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from mic.contracts import HttpSuccessEnvelope, wrap_http_success
from mic.http import HttpResponseSpec, Query
from pydantic import Field

from {{ cookiecutter.__package_name }}.items.contracts import Item, ItemPayload
from {{ cookiecutter.__package_name }}.items.repository import ItemRepository

MAX_PAGE_SIZE = 100


class ItemHandlers:
    """The items API, bound to one repository."""

    def __init__(self, repository: ItemRepository) -> None:
        self._repository = repository

    async def create_item(self, *, payload: ItemPayload) -> HttpResponseSpec:
        """Create an item; answers 201 with its `Location`."""
        item = await self._repository.add(payload)
        return HttpResponseSpec(
            status_code=201,
            body=wrap_http_success(item),
            headers={"Location": f"/items/{item.id}"},
        )

    async def list_items(
        self,
        *,
        offset: Annotated[int, Query(description="Items to skip"), Field(ge=0)] = 0,
        limit: Annotated[
            int, Query(description="Most items to return"), Field(ge=1, le=MAX_PAGE_SIZE)
        ] = 20,
    ) -> HttpSuccessEnvelope[list[Item]]:
        """A page of items in creation order; `meta` echoes the paging."""
        items = await self._repository.page(offset, limit)
        return wrap_http_success(items, meta={"offset": offset, "limit": limit})

    async def get_item(self, *, item_id: UUID) -> HttpSuccessEnvelope[Item]:
        """One item, or 404."""
        return wrap_http_success(await self._repository.get(item_id))

    async def replace_item(
        self, *, item_id: UUID, payload: ItemPayload
    ) -> HttpSuccessEnvelope[Item]:
        """Overwrite an item, or 404; 409 when the new name belongs to another item."""
        return wrap_http_success(await self._repository.replace(item_id, payload))

    async def delete_item(self, *, item_id: UUID) -> None:
        """Delete an item (204), or 404."""
        await self._repository.delete(item_id)

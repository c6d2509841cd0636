"""The items routes as pure data: method, path, handler, and what the docs should say."""

from __future__ import annotations

from mic.contracts import HttpSuccessEnvelope
from mic.http import HttpRouteSpec
from mic.model import ConflictError, NotFoundError

from {{ cookiecutter.__package_name }}.items.contracts import Item
from {{ cookiecutter.__package_name }}.items.handlers import ItemHandlers
from {{ cookiecutter.__package_name }}.items.repository import ItemRepository


def build_item_routes(repository: ItemRepository) -> tuple[HttpRouteSpec, ...]:
    """The CRUD routes of the items API, served from `repository`."""
    handlers = ItemHandlers(repository)
    return (
        HttpRouteSpec(
            method="POST",
            path="/items",
            name="items.create",
            category="items",
            handler=handlers.create_item,
            status_code=201,
            summary="Create an item",
            response_model=HttpSuccessEnvelope[Item],
            errors=(ConflictError,),
        ),
        HttpRouteSpec(
            method="GET",
            path="/items",
            name="items.list",
            category="items",
            handler=handlers.list_items,
            summary="List items",
            response_model=HttpSuccessEnvelope[list[Item]],
        ),
        HttpRouteSpec(
            method="GET",
            path="/items/{item_id}",
            name="items.get",
            category="items",
            handler=handlers.get_item,
            summary="Get an item",
            response_model=HttpSuccessEnvelope[Item],
            errors=(NotFoundError,),
        ),
        HttpRouteSpec(
            method="PUT",
            path="/items/{item_id}",
            name="items.replace",
            category="items",
            handler=handlers.replace_item,
            summary="Replace an item",
            response_model=HttpSuccessEnvelope[Item],
            errors=(NotFoundError, ConflictError),
        ),
        HttpRouteSpec(
            method="DELETE",
            path="/items/{item_id}",
            name="items.delete",
            category="items",
            handler=handlers.delete_item,
            status_code=204,
            summary="Delete an item",
            errors=(NotFoundError,),
        ),
    )

"""What goes over the wire for items: strict schemas, so a contract means what it says."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from mic.contracts import StrictSchema
from pydantic import Field


class ItemPayload(StrictSchema):
    """What a client sends to create or replace an item."""

    name: Annotated[str, Field(min_length=1, max_length=200, description="Unique item name")]
    quantity: Annotated[int, Field(ge=0, description="Units in stock")] = 0


class Item(StrictSchema):
    """An item as the API returns it."""

    id: UUID
    name: str
    quantity: int

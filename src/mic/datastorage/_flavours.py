"""Key-value and document flavours of the in-memory storage (the spec's names).

Both are `InMemoryDataStorage` over a fixed model, so they keep versions, units of work and
keyset listings, and add the one operation their shape calls for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from mic.datastorage._base import StorageOptions
from mic.datastorage._memory import InMemoryDataStorage
from mic.model import ConflictError, ValidationFailedError


class KeyValueEntry(BaseModel):
    """A JSON value stored under a string key.

    Attributes:
        id: The key.
        version: Managed by the storage.
        value: Any JSON value.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    version: int = 0
    value: JsonValue = None


class Document(BaseModel):
    """A schemaless JSON document stored under a string id.

    Attributes:
        id: The document id.
        version: Managed by the storage.
        data: The document body (a JSON object).
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    version: int = 0
    data: dict[str, JsonValue] = Field(default_factory=dict)


class InMemoryKeyValueDataStorage(InMemoryDataStorage[KeyValueEntry]):
    """`KeyValueEntry` records, with last-writer-wins `put` beside the versioned `update`."""

    def __init__(self, *, options: StorageOptions | None = None) -> None:
        super().__init__(KeyValueEntry, options=options)

    async def get_value(self, key: str) -> JsonValue:
        """The value stored under `key`, or ``None``."""
        entry = await self.get(key)
        return None if entry is None else entry.value

    async def put(self, key: str, value: JsonValue) -> KeyValueEntry:
        """Store `value` under `key` whatever the current version (last writer wins)."""
        while True:
            current = await self.get(key)
            try:
                if current is None:
                    return await self.add(KeyValueEntry(id=key, value=value))
                return await self.update(current.model_copy(update={"value": value}))
            except ConflictError:
                continue  # someone wrote in between: read again and retry


class InMemoryDocumentDataStorage(InMemoryDataStorage[Document]):
    """`Document` records, with `find` matching top-level keys of the document body."""

    def __init__(self, *, options: StorageOptions | None = None) -> None:
        super().__init__(Document, options=options)

    async def find(
        self, where: Mapping[str, JsonValue], *, limit: int | None = None
    ) -> list[Document]:
        """Documents whose body has every key of `where` with an equal value, by id.

        Raises:
            ValidationFailedError: `limit` is outside the storage's page size limits.
        """
        size = self.schema.options.default_page_size if limit is None else limit
        if not 1 <= size <= self.schema.options.max_page_size:
            raise ValidationFailedError(
                "invalid_limit", f"limit must be between 1 and {self.schema.options.max_page_size}"
            )
        found: list[dict[str, Any]] = []
        for row in sorted(self._rows(), key=lambda r: str(r["id"])):
            body = row["data"]
            if all(key in body and body[key] == value for key, value in where.items()):
                found.append(row)
                if len(found) == size:
                    break
        return [self._load(row) for row in found]

"""`ShardedDataStorage` and `ShardedDatabase`: `DataStorage` calls routed to one database.

Every call that names its shard key (a record's field, an equality filter on it) goes to
that key's shard. A call that would need every shard (a get by id alone, a listing without
the key, a unit of work) is refused with `CrossShardQueryError`, unless made explicitly
through the ``*_across_shards`` methods.
"""

from __future__ import annotations

import asyncio
import builtins
import operator
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic

from mic.datastorage import DataStorage, Filter, Filters, Page
from mic.datastorage._base import ModelT
from mic.model import DomainError
from mic.shard._selector import ShardKey, ShardKeyMissingError, ShardSelector

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


class CrossShardQueryError(DomainError):
    """An operation would touch several shards and was not asked for explicitly (400)."""

    default_code = "cross_shard_query"


def _refuse(operation: str, alternative: str) -> CrossShardQueryError:
    return CrossShardQueryError(
        "cross_shard_query",
        f"{operation} would touch every shard; {alternative}",
    )


class ShardedDataStorage(DataStorage[ModelT], Generic[ModelT]):
    """One model stored across several `DataStorage` shards, chosen by a field's value.

    Args:
        shards: Shard name to the storage of that shard (same model on each).
        shard_key: The model field that chooses the shard (``tenant_id``).
        selector: Maps key values to shard names (default: jump hash over `shards` in
            their order; append new shards at the end).

    Raises:
        ValueError: No shard, shards of different models, a `shard_key` that is not a
            field, or a selector naming other shards.
    """

    def __init__(
        self,
        shards: Mapping[str, DataStorage[ModelT]],
        *,
        shard_key: str,
        selector: ShardSelector | None = None,
    ) -> None:
        if not shards:
            raise ValueError("a sharded storage needs at least one shard")
        models = {storage.model for storage in shards.values()}
        if len(models) != 1:
            raise ValueError("every shard must store the same model")
        self.model = models.pop()
        if shard_key not in self.model.model_fields:
            raise ValueError(f"{self.model.__name__} has no field {shard_key!r} to shard on")
        self.selector = selector or ShardSelector(list(shards))
        if set(self.selector.shards) != set(shards):
            raise ValueError("the selector's shards and the storages' shards differ")
        self.shards = dict(shards)
        self.shard_key = shard_key

    def __repr__(self) -> str:
        return f"ShardedDataStorage({self.model.__name__}, shards={list(self.selector.shards)})"

    def for_key(self, key: ShardKey) -> DataStorage[ModelT]:
        """The storage of `key`'s shard: use it for gets, deletes and units of work.

        Raises:
            ShardKeyMissingError: No usable key.
        """
        return self.shards[self.selector.shard_for(key)]

    def _record_shard(self, record: ModelT) -> DataStorage[ModelT]:
        value = getattr(record, self.shard_key, None)
        if value is None or value == "":
            raise ShardKeyMissingError(
                "shard_key_missing",
                f"{self.model.__name__}.{self.shard_key} is needed to choose a shard",
                {"field": self.shard_key},
            )
        return self.for_key(value)

    def _filter_shard(self, filters: Filters, operation: str) -> DataStorage[ModelT]:
        if isinstance(filters, Mapping):
            if self.shard_key in filters:
                return self.for_key(filters[self.shard_key])
        else:
            for item in filters:
                if isinstance(item, Filter) and item.field == self.shard_key and item.op == "eq":
                    return self.for_key(item.value)
        raise _refuse(
            operation,
            f"filter on {self.shard_key!r} (equality) or call {operation}_across_shards",
        )

    async def add(self, record: ModelT) -> ModelT:
        """Store `record` on the shard of its shard-key field.

        Raises:
            ShardKeyMissingError: The field is ``None`` or empty.
        """
        return await self._record_shard(record).add(record)

    async def update(self, record: ModelT) -> ModelT:
        """Update `record` on the shard of its shard-key field (a key never moves shards).

        Raises:
            ShardKeyMissingError: The field is ``None`` or empty.
        """
        return await self._record_shard(record).update(record)

    async def get(self, record_id: Any) -> ModelT | None:
        """Refused: an id alone does not name a shard.

        Raises:
            CrossShardQueryError: Always; use ``for_key(key).get(id)`` or
                `get_across_shards`.
        """
        raise _refuse("get", "use for_key(key).get(id) or get_across_shards(id)")

    async def delete(self, record_id: Any, *, version: int | None = None) -> None:
        """Refused: an id alone does not name a shard.

        Raises:
            CrossShardQueryError: Always; use ``for_key(key).delete(id)``.
        """
        raise _refuse("delete", "use for_key(key).delete(id)")

    async def list(
        self,
        filters: Filters = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ModelT]:
        """One page from the shard named by an equality filter on the shard key.

        Raises:
            CrossShardQueryError: No such filter (use `list_across_shards`).
        """
        shard = self._filter_shard(filters, "list")
        return await shard.list(filters, order_by=order_by, limit=limit, cursor=cursor)

    async def count(self, filters: Filters = ()) -> int:
        """Count on the shard named by an equality filter on the shard key.

        Raises:
            CrossShardQueryError: No such filter (use `count_across_shards`).
        """
        return await self._filter_shard(filters, "count").count(filters)

    def unit_of_work(self) -> Any:
        """Refused: a transaction lives in one database.

        Raises:
            CrossShardQueryError: Always; use ``for_key(key).unit_of_work()``.
        """
        raise _refuse("a unit of work", "open it on one shard: for_key(key).unit_of_work()")

    async def get_across_shards(self, record_id: Any) -> ModelT | None:
        """Look `record_id` up on every shard (concurrently); the record, or ``None``."""
        found = await asyncio.gather(*(shard.get(record_id) for shard in self.shards.values()))
        return next((record for record in found if record is not None), None)

    async def count_across_shards(self, filters: Filters = ()) -> int:
        """The sum of `count` on every shard."""
        counts = await asyncio.gather(*(shard.count(filters) for shard in self.shards.values()))
        return sum(counts)

    async def list_across_shards(
        self, filters: Filters = (), *, order_by: Sequence[str] = (), limit: int | None = None
    ) -> builtins.list[ModelT]:
        """The first `limit` records across every shard, in `order_by` order (no cursor).

        Each shard returns its own first `limit` records (its default page size without
        `limit`), so the merged head of that length is exact.
        """
        pages = await asyncio.gather(
            *(shard.list(filters, order_by=order_by, limit=limit) for shard in self.shards.values())
        )
        merged = [record for page in pages for record in page.items]
        # Stable sorts from the least significant key up; ``id`` breaks ties as on a shard.
        keys = [*order_by, "id"]
        for name in reversed(keys):
            descending = name.startswith("-")
            attribute = name.lstrip("-")
            merged.sort(key=operator.attrgetter(attribute), reverse=descending)
        full = [len(page.items) for page in pages if page.next_cursor is not None]
        size = limit if limit is not None else min(full, default=len(merged))
        return merged[:size]


class ShardedDatabase:
    """Several SQL databases addressed as shards: engines and sharded storages.

    Args:
        engines: Shard name to its `AsyncEngine` (see `mic.datastorage.create_sql_engine`).
        selector: Default: jump hash over `engines` in their order.

    Raises:
        ValueError: No engine, or a selector naming other shards.
    """

    def __init__(
        self, engines: Mapping[str, AsyncEngine], *, selector: ShardSelector | None = None
    ) -> None:
        if not engines:
            raise ValueError("a sharded database needs at least one engine")
        self.engines = dict(engines)
        self.selector = selector or ShardSelector(list(engines))
        if set(self.selector.shards) != set(engines):
            raise ValueError("the selector's shards and the engines' shards differ")

    @classmethod
    def from_urls(cls, urls: Mapping[str, str], **engine_options: Any) -> ShardedDatabase:
        """Engines for `urls` (shard name to database URL), owned by the result.

        Raises:
            MissingDependencyError: The ``sql`` (or ``postgres``) extra is not installed.
        """
        from mic.datastorage import create_sql_engine

        return cls({name: create_sql_engine(url, **engine_options) for name, url in urls.items()})

    def engine_for(self, key: ShardKey) -> AsyncEngine:
        """The engine of `key`'s shard.

        Raises:
            ShardKeyMissingError: No usable key.
        """
        return self.engines[self.selector.shard_for(key)]

    def storage(self, model: type[ModelT], *, shard_key: str) -> ShardedDataStorage[ModelT]:
        """A `ShardedDataStorage` of `model` (a `SqlDataStorage` on every engine).

        Raises:
            MissingDependencyError: The ``sql`` extra is not installed.
            TypeError: `model` is not a SQLModel table model.
            ValueError: `shard_key` is not a field of `model`.
        """
        from mic.datastorage import SqlDataStorage

        shards: dict[str, DataStorage[ModelT]] = {
            name: SqlDataStorage(model, engine) for name, engine in self.engines.items()
        }
        return ShardedDataStorage(shards, shard_key=shard_key, selector=self.selector)

    async def dispose(self) -> None:
        """Close every engine's connection pool."""
        await asyncio.gather(*(engine.dispose() for engine in self.engines.values()))

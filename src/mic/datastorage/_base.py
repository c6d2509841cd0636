"""The `DataStorage` contract: aggregates keyed by id, versioned, queried by keyset pages.

Backends (`InMemoryDataStorage`, `SqlDataStorage`) implement the same abstract methods and
pass the same behaviour suite. Every error a caller can cause is a `DomainError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel

from mic.model import ValidationFailedError

ModelT = TypeVar("ModelT", bound=BaseModel)

FilterOperator = Literal["eq", "ne", "lt", "le", "gt", "ge", "in"]
FILTER_OPERATORS: frozenset[str] = frozenset(get_args(FilterOperator))

DEFAULT_PAGE_SIZE = 50
DEFAULT_MAX_PAGE_SIZE = 1000
DEFAULT_MAX_FILTER_VALUES = 1000


@dataclass(frozen=True, slots=True)
class Filter:
    """One condition on a field of the stored model.

    Filters usually come from request input, so a bad one is a `ValidationFailedError`
    (422), raised here for an unknown operator and by the storage for an unknown field or a
    value of the wrong type.

    Attributes:
        field: Name of a field of the model.
        op: ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge`` or ``in`` (value is a sequence).
        value: Compared value; validated against the field's type by the storage.
    """

    field: str
    op: FilterOperator
    value: Any

    def __post_init__(self) -> None:
        if self.op not in FILTER_OPERATORS:
            raise ValidationFailedError(
                "invalid_filter",
                f"unknown filter operator {self.op!r}",
                {"field": self.field, "allowed": sorted(FILTER_OPERATORS)},
            )


Filters = Sequence[Filter] | Mapping[str, Any]
"""Filters: a sequence of `Filter`, or a mapping ``{field: value}`` meaning equality."""


@dataclass(frozen=True, slots=True)
class Page(Generic[ModelT]):
    """One page of a listing.

    Attributes:
        items: The records of this page, in the requested order.
        next_cursor: Opaque cursor of the next page, or ``None`` on the last page.
    """

    items: list[ModelT]
    next_cursor: str | None = None


class UnitOfWork:
    """A transaction shared by every storage operation made inside it: all or nothing.

    Obtained from `DataStorage.unit_of_work()`. Operations of any storage of the same backend
    (the same SQL engine; any in-memory storage) made while it is open join it. On a normal
    exit it commits; on an exception it rolls back and nothing it wrote is visible. Callbacks
    registered with `on_commit` run after a successful commit, in order.

    A nested ``unit_of_work()`` joins the open one (same object) as a savepoint: if the
    nested block raises, its own writes and callbacks are undone even when the outer block
    catches the exception and commits (ADR 0021).
    Not for concurrent use: one unit of work belongs to one task.
    """

    def __init__(self) -> None:
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    def on_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` once the unit of work has committed (never after a rollback)."""
        self._after_commit.append(callback)

    def _callbacks_mark(self) -> int:
        """How many callbacks are registered, to drop later ones when a savepoint fails."""
        return len(self._after_commit)

    def _drop_callbacks_after(self, mark: int) -> None:
        del self._after_commit[mark:]

    async def _run_after_commit(self) -> None:
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            await callback()


@dataclass(frozen=True, slots=True)
class StorageOptions:
    """Limits a storage enforces on listings.

    Attributes:
        default_page_size: Page size when the caller gives none.
        max_page_size: Largest page a caller may ask for; more is a 422.
        max_filter_values: Most values one ``in`` filter may list; more is a 422 (each
            value is a bound parameter, and databases cap those: 65535 on PostgreSQL).
    """

    default_page_size: int = DEFAULT_PAGE_SIZE
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE
    max_filter_values: int = DEFAULT_MAX_FILTER_VALUES

    def __post_init__(self) -> None:
        if self.max_page_size < 1:
            raise ValueError("max_page_size must be >= 1")
        if not 1 <= self.default_page_size <= self.max_page_size:
            raise ValueError("default_page_size must be between 1 and max_page_size")
        if not 1 <= self.max_filter_values <= 10_000:
            raise ValueError("max_filter_values must be between 1 and 10000")


class DataStorage(ABC, Generic[ModelT]):
    """Stores aggregates of one pydantic model, keyed by its ``id`` field.

    The model must have an ``id`` field and an integer ``version`` field. The storage owns
    the version: `add` stores version 1, every successful `update` increments it, and an
    update (or delete) carrying a stale version raises `ConflictError` and changes nothing
    (optimistic concurrency). Listings use keyset pagination (ADR 0020).

    Errors: `ValidationFailedError` (422) for bad input (unknown field, wrong type, oversized
    page, invalid cursor); `NotFoundError` (404); `ConflictError` (409); `TransientError`
    (503) when the backend is unreachable. Safe to share between tasks.
    """

    model: type[ModelT]

    probe_name: ClassVar[str] = "storage"
    """Key of this backend in the readiness answer (`mic.healthcheck.ping_probe`)."""

    async def ping(self) -> None:
        """Raise if the backend cannot serve; this in-process one always can.

        `mic.healthcheck.ping_probe` builds the readiness probe from it. Backends on a
        server override it with a cheap round trip on their own client.
        """
        return

    @abstractmethod
    async def get(self, record_id: Any) -> ModelT | None:
        """The record with id `record_id`, or ``None``."""

    @abstractmethod
    async def add(self, record: ModelT) -> ModelT:
        """Store a new record; returns it as stored (version 1).

        Raises:
            ConflictError: A record with this id (or another unique value) exists.
        """

    @abstractmethod
    async def update(self, record: ModelT) -> ModelT:
        """Replace the stored record if its version still equals ``record.version``.

        Returns the stored record, whose version is ``record.version + 1``.

        Raises:
            NotFoundError: No record has this id.
            ConflictError: The stored version differs (someone else updated it first).
        """

    @abstractmethod
    async def delete(self, record_id: Any, *, version: int | None = None) -> None:
        """Delete a record; with `version`, only if it is still the stored version.

        Raises:
            NotFoundError: No record has this id.
            ConflictError: `version` is given and stale.
        """

    @abstractmethod
    async def list(
        self,
        filters: Filters = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ModelT]:
        """One page of the records matching every filter.

        Args:
            filters: Conditions, all of which must hold.
            order_by: Field names, ``-name`` for descending; ``id`` is always the final
                tie-breaker. Nullable fields, and fields holding lists or objects, cannot
                be ordered on.
            limit: Page size (default and maximum come from the storage's options).
            cursor: `Page.next_cursor` of the previous page, with the same order.
        """

    @abstractmethod
    async def count(self, filters: Filters = ()) -> int:
        """How many records match every filter."""

    @abstractmethod
    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """Open (or join) a unit of work on this storage's backend."""

"""Storage of versioned aggregates: the `DataStorage` contract and its backends.

`InMemoryDataStorage` (and its key-value and document flavours) needs nothing; `SqlDataStorage`
needs the ``sql`` extra (``postgres`` for PostgreSQL). See docs/storage.md.
"""

from mic.datastorage._base import (
    DEFAULT_MAX_PAGE_SIZE,
    DEFAULT_PAGE_SIZE,
    DataStorage,
    Filter,
    FilterOperator,
    Filters,
    Page,
    StorageOptions,
    UnitOfWork,
)
from mic.datastorage._flavours import (
    Document,
    InMemoryDocumentDataStorage,
    InMemoryKeyValueDataStorage,
    KeyValueEntry,
)
from mic.datastorage._memory import InMemoryDataStorage, InMemoryUnitOfWork
from mic.datastorage._sql import SqlDataStorage, SqlUnitOfWork, create_sql_engine

__all__ = [
    "DEFAULT_MAX_PAGE_SIZE",
    "DEFAULT_PAGE_SIZE",
    "DataStorage",
    "Document",
    "Filter",
    "FilterOperator",
    "Filters",
    "InMemoryDataStorage",
    "InMemoryDocumentDataStorage",
    "InMemoryKeyValueDataStorage",
    "InMemoryUnitOfWork",
    "KeyValueEntry",
    "Page",
    "SqlDataStorage",
    "SqlUnitOfWork",
    "StorageOptions",
    "UnitOfWork",
    "create_sql_engine",
]

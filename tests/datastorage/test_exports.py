"""The public surface of `mic.datastorage` is pinned."""

import mic.datastorage


def test_all_is_pinned() -> None:
    assert mic.datastorage.__all__ == [
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
    for name in mic.datastorage.__all__:
        assert hasattr(mic.datastorage, name)

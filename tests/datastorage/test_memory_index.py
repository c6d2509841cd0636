"""`InMemoryDataStorage` indexes: the same pages as a full scan and sort, at O(log n + page)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from mic.datastorage import Filter, InMemoryDataStorage, Page
from mic.datastorage import _memory as memory_module
from mic.datastorage._index import TOP, Unindexable


class Row(BaseModel):
    """Every kind of field an index meets: ints, text, floats, a nullable field."""

    id: int
    version: int = 0
    size: int
    name: str
    score: float
    group: str | None = None


class Mixed(BaseModel):
    """A field whose values do not all compare with each other."""

    id: int
    version: int = 0
    value: int | str


class ScanningStorage(InMemoryDataStorage[Any]):
    """The reference: the scan and sort every listing used before indexes."""

    def _indexed(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        raise Unindexable


class RollbackError(Exception):
    """Raised to leave a unit of work without committing."""


async def pages(storage: InMemoryDataStorage[Any], **kwargs: Any) -> list[Page[Any]]:
    """Every page of a listing, following cursors to the end."""
    found = [await storage.list(**kwargs)]
    while found[-1].next_cursor is not None:
        found.append(await storage.list(**kwargs, cursor=found[-1].next_cursor))
    return found


ORDERS = st.lists(
    st.sampled_from(["size", "-size", "name", "-name", "score", "-score", "id", "-id"]),
    max_size=3,
    unique_by=lambda raw: raw.lstrip("-"),
)
FILTERS = st.lists(
    st.one_of(
        st.builds(
            Filter,
            st.just("size"),
            st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge"]),
            st.integers(0, 4),
        ),
        st.builds(
            Filter,
            st.just("name"),
            st.sampled_from(["eq", "gt", "le"]),
            st.sampled_from(["a", "b", "c"]),
        ),
        st.builds(
            Filter,
            st.just("group"),
            st.sampled_from(["eq", "ne"]),
            st.sampled_from([None, "x", "y"]),
        ),
        st.builds(Filter, st.just("size"), st.just("in"), st.lists(st.integers(0, 4), max_size=4)),
        st.builds(
            Filter,
            st.just("group"),
            st.just("in"),
            st.lists(st.sampled_from(["x", "y"]), min_size=1, max_size=3),
        ),
        st.builds(Filter, st.just("score"), st.sampled_from(["ge", "lt"]), st.floats(0, 3)),
    ),
    max_size=3,
)
ROWS = st.lists(
    st.builds(
        Row,
        id=st.integers(0, 200),
        size=st.integers(0, 4),
        name=st.sampled_from(["a", "b", "c"]),
        score=st.sampled_from([0.0, 0.5, 1.0, 2.5, -0.0]),
        group=st.sampled_from([None, "x", "y"]),
    ),
    max_size=40,
    unique_by=lambda row: row.id,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS, filters=FILTERS, order_by=ORDERS, limit=st.integers(1, 7))
def test_indexed_pages_equal_the_scanned_pages(
    rows: list[Row], filters: list[Filter], order_by: list[str], limit: int
) -> None:
    async def run() -> None:
        indexed, scanned = InMemoryDataStorage(Row), ScanningStorage(Row)
        for row in rows:
            await indexed.add(row)
            await scanned.add(row)
        query: dict[str, Any] = {"filters": filters, "order_by": order_by, "limit": limit}
        assert await pages(scanned, **query) == await pages(indexed, **query)
        assert await scanned.count(filters) == await indexed.count(filters)
        # The indexes follow later writes: replace and delete half the rows, add others.
        for row in rows[::2]:
            await indexed.delete(row.id)
            await scanned.delete(row.id)
        for row in rows[1::2]:
            changed = row.model_copy(update={"version": 1, "size": (row.size + 1) % 5})
            await indexed.update(changed)
            await scanned.update(changed)
        assert await pages(scanned, **query) == await pages(indexed, **query)
        assert await scanned.count(filters) == await indexed.count(filters)

    asyncio.run(run())


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, staged=ROWS, filters=FILTERS, order_by=ORDERS)
def test_a_unit_of_work_sees_its_own_writes_merged_in_order(
    rows: list[Row], staged: list[Row], filters: list[Filter], order_by: list[str]
) -> None:
    async def run() -> None:
        indexed, scanned = InMemoryDataStorage(Row), ScanningStorage(Row)
        for row in rows:
            await indexed.add(row)
            await scanned.add(row)
        known = {row.id for row in rows}
        query: dict[str, Any] = {"filters": filters, "order_by": order_by, "limit": 3}
        results: list[Any] = []

        async def stage_and_read(storage: InMemoryDataStorage[Any]) -> None:
            async with storage.unit_of_work():
                for row in staged:
                    if row.id in known:
                        await storage.delete(row.id)
                    else:
                        await storage.add(row)
                results.append((await pages(storage, **query), await storage.count(filters)))
                raise RollbackError("undo")

        for storage in (indexed, scanned):
            with pytest.raises(RollbackError, match="undo"):
                await stage_and_read(storage)
        assert results[1] == results[0]
        assert await pages(scanned, **query) == await pages(indexed, **query)

    asyncio.run(run())


async def test_a_page_reads_only_the_rows_it_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    """O(log n + page): a page of 10 from 5,000 rows checks about 10 rows, not 5,000."""
    storage = InMemoryDataStorage(Row)
    for n in range(5_000):
        await storage.add(Row(id=n, size=n % 5, name="abc"[n % 3], score=n / 7))
    await storage.list(order_by=["-score"], limit=10)  # builds the index
    await storage.list(filters={"size": 3}, order_by=["name"], limit=10)
    checked: list[int] = []
    real = memory_module.matches

    def counting(row: dict[str, Any], filters: Any) -> bool:
        checked.append(row["id"])
        return real(row, filters)

    monkeypatch.setattr(memory_module, "matches", counting)
    first = await storage.list(order_by=["-score"], limit=10)
    second = await storage.list(order_by=["-score"], limit=10, cursor=first.next_cursor)
    equal = await storage.list(filters={"size": 3}, order_by=["name"], limit=10)
    ranged = await storage.list(filters=[Filter("score", "ge", 700.0)], order_by=["score"], limit=3)

    assert [r.id for r in second.items] == list(range(4_989, 4_979, -1))
    assert all(r.size == 3 for r in equal.items)
    assert [r.id for r in ranged.items] == [4_900, 4_901, 4_902]
    assert len(checked) == 11 + 11 + 11 + 4


async def test_nan_keys_fall_back_to_the_scan() -> None:
    indexed, scanned = InMemoryDataStorage(Row), ScanningStorage(Row)
    for storage in (indexed, scanned):
        await storage.list(order_by=["score"])  # an index exists before the NaN arrives
        for n, score in enumerate([1.0, math.nan, 0.5, 2.0]):
            await storage.add(Row(id=n, size=0, name="a", score=score))

    found = await indexed.list(order_by=["score"])

    assert [r.id for r in (await scanned.list(order_by=["score"])).items] == [
        r.id for r in found.items
    ]
    await indexed.delete(1)
    assert [r.id for r in (await indexed.list(order_by=["score"])).items] == [2, 0, 3]


async def test_values_that_do_not_compare_fail_as_the_scan_does() -> None:
    storage = InMemoryDataStorage(Mixed)
    await storage.add(Mixed(id=1, value=3))
    assert [r.id for r in (await storage.list(order_by=["value"])).items] == [1]

    await storage.add(Mixed(id=2, value="three"))

    with pytest.raises(TypeError, match="not supported between instances"):
        await storage.list(order_by=["value"])
    await storage.delete(2)
    assert [r.id for r in (await storage.list(order_by=["value"])).items] == [1]


async def test_repeated_in_values_list_each_record_once() -> None:
    storage = InMemoryDataStorage(Row)
    await storage.add(Row(id=1, size=2, name="a", score=0.0))

    page = await storage.list(filters=[Filter("size", "in", [2, 2, 2])])

    assert [r.id for r in page.items] == [1]
    assert await storage.count([Filter("size", "in", [2, 2])]) == 1


async def test_indexes_are_bounded_least_recently_used_first() -> None:
    storage = InMemoryDataStorage(Row)
    await storage.add(Row(id=1, size=2, name="a", score=0.0))
    shapes = [["size"], ["-size"], ["name"], ["-name"], ["score"], ["-score"], ["-id"]]
    for filters in ({}, {"size": 2}, {"name": "a"}):
        for order_by in shapes:
            await storage.list(filters=filters, order_by=order_by)

    assert memory_module.MAX_INDEXES == len(storage._indexes)
    assert [r.id for r in (await storage.list(order_by=["size"])).items] == [1]


async def test_many_writes_after_the_index_exists_keep_it_in_order() -> None:
    """Enough rows to split and empty the index's blocks, written in a scrambled order."""
    indexed, scanned = InMemoryDataStorage(Row), ScanningStorage(Row)
    await indexed.list(order_by=["-size", "name"])
    ids = [(n * 7_919) % 3_000 for n in range(3_000)]
    for storage in (indexed, scanned):
        for n in ids:
            await storage.add(Row(id=n, size=n % 7, name=str(n % 11), score=0.0))
        for n in ids[:2_500]:
            await storage.delete(n)
    query: dict[str, Any] = {"order_by": ["-size", "name"], "limit": 100}

    assert await pages(scanned, **query) == await pages(indexed, **query)
    for storage in (indexed, scanned):
        for n in ids[2_500:]:
            await storage.delete(n)
        await storage.add(Row(id=1, size=1, name="a", score=0.0))
    assert await pages(scanned, **query) == await pages(indexed, **query)


async def test_an_index_is_not_built_over_a_nan() -> None:
    storage = InMemoryDataStorage(Row)
    await storage.add(Row(id=1, size=0, name="a", score=math.nan))
    await storage.add(Row(id=2, size=0, name="a", score=1.0))

    assert {r.id for r in (await storage.list(order_by=["score"])).items} == {1, 2}
    assert {r.id for r in (await storage.list(order_by=["score"])).items} == {1, 2}


def test_the_end_of_a_prefix_sorts_after_every_value() -> None:
    assert [(1, 5), (1, "x")] == [key for key in [(1, 5), (1, "x")] if key < (1, TOP)]
    assert not (1, TOP) < (1, 5)
    assert not (1, TOP) < (1, "x")

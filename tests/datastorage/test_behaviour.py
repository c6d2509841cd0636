"""The behaviour every `DataStorage` backend must show, run on each of them."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable

import pytest

from mic.datastorage import DataStorage, Filter
from mic.model import ConflictError, NotFoundError, ValidationFailedError

from .models import Item, Tag


def item(record_id: int, name: str = "a", price: float = 1.0, category: str | None = None) -> Item:
    return Item(id=record_id, name=name, price=price, category=category)


async def seed(items: DataStorage[Item]) -> None:
    rows = [
        item(1, "apple", 3.0, "fruit"),
        item(2, "banana", 1.0, "fruit"),
        item(3, "carrot", 2.0, "vegetable"),
        item(4, "date", 3.0, None),
        item(5, "eggplant", 5.0, "vegetable"),
        item(6, "fig", 3.0, "fruit"),
        item(7, "grape", 4.0, None),
    ]
    for row in rows:
        await items.add(row)


async def test_add_then_get_returns_version_one(items: DataStorage[Item]) -> None:
    stored = await items.add(item(1, "apple", 2.5, "fruit"))

    assert stored == Item(id=1, version=1, name="apple", price=2.5, category="fruit")
    assert stored == await items.get(1)


async def test_get_unknown_id_is_none(items: DataStorage[Item]) -> None:
    assert await items.get(42) is None


async def test_get_with_wrong_id_type_is_a_validation_error(items: DataStorage[Item]) -> None:
    with pytest.raises(ValidationFailedError, match="invalid value for field 'id'"):
        await items.get("not-a-number")


async def test_add_duplicate_id_is_a_conflict(items: DataStorage[Item]) -> None:
    await items.add(item(1))

    with pytest.raises(ConflictError, match=r"already exists|conflicts with an existing one"):
        await items.add(item(1, "other"))
    assert (await items.get(1)).name == "a"  # type: ignore[union-attr]


async def test_update_increments_the_version(items: DataStorage[Item]) -> None:
    stored = await items.add(item(1))

    updated = await items.update(stored.model_copy(update={"name": "b"}))

    assert updated.version == 2
    assert updated == await items.get(1)


async def test_stale_update_is_a_conflict_and_changes_nothing(items: DataStorage[Item]) -> None:
    stored = await items.add(item(1))
    await items.update(stored.model_copy(update={"name": "first"}))

    with pytest.raises(ConflictError, match="changed by someone else"):
        await items.update(stored.model_copy(update={"name": "second"}))
    current = await items.get(1)
    assert current is not None
    assert (current.name, current.version) == ("first", 2)


async def test_an_invalid_record_is_refused_before_anything_is_stored(
    items: DataStorage[Item],
) -> None:
    # A table model is not validated when built: the storage is the last line of defence.
    with pytest.raises(ValidationFailedError, match="not valid for its model") as caught:
        await items.add(Item(id=1, name="a", price="not a number"))  # type: ignore[arg-type]
    assert ["price"] == [error["field"] for error in caught.value.details["errors"]]
    assert None is await items.get(1)
    stored = await items.add(item(1))
    with pytest.raises(ValidationFailedError, match="not valid for its model"):
        await items.update(stored.model_copy(update={"price": "nope"}))
    assert stored == await items.get(1)


async def test_update_of_unknown_record_is_not_found(items: DataStorage[Item]) -> None:
    with pytest.raises(NotFoundError, match="no record has this id"):
        await items.update(Item(id=9, version=1, name="x", price=1.0))


async def test_delete_removes_the_record(items: DataStorage[Item]) -> None:
    await items.add(item(1))

    await items.delete(1)

    assert await items.get(1) is None
    with pytest.raises(NotFoundError, match="no record has this id"):
        await items.delete(1)


async def test_delete_with_stale_version_is_a_conflict(items: DataStorage[Item]) -> None:
    stored = await items.add(item(1))
    await items.update(stored)

    with pytest.raises(ConflictError, match="changed by someone else"):
        await items.delete(1, version=1)
    await items.delete(1, version=2)
    assert await items.get(1) is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [1, 2, 3, 4, 5, 6, 7]),
        ({"category": "fruit"}, [1, 2, 6]),
        ({"category": None}, [4, 7]),
        ([Filter("category", "ne", "fruit")], [3, 4, 5, 7]),
        ([Filter("category", "ne", None)], [1, 2, 3, 5, 6]),
        ([Filter("price", "lt", 3)], [2, 3]),
        ([Filter("price", "le", 3)], [1, 2, 3, 4, 6]),
        ([Filter("price", "gt", 3)], [5, 7]),
        ([Filter("price", "ge", "4")], [5, 7]),
        ([Filter("name", "in", ["fig", "apple", "kiwi"])], [1, 6]),
        ([Filter("category", "in", ["vegetable"]), Filter("price", "gt", 2)], [5]),
        ([Filter("category", "gt", "fruit")], [3, 5]),
    ],
)
async def test_list_and_count_apply_every_filter(
    items: DataStorage[Item], filters: object, expected: list[int]
) -> None:
    await seed(items)

    page = await items.list(filters)  # type: ignore[arg-type]

    assert expected == [row.id for row in page.items]
    assert page.next_cursor is None
    assert len(expected) == await items.count(filters)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ((), [1, 2, 3, 4, 5, 6, 7]),
        (("-id",), [7, 6, 5, 4, 3, 2, 1]),
        (("price",), [2, 3, 1, 4, 6, 7, 5]),
        (("-price", "name"), [5, 7, 1, 4, 6, 3, 2]),
        (("-price", "-name"), [5, 7, 6, 4, 1, 3, 2]),
        (("price", "-id"), [2, 3, 6, 4, 1, 7, 5]),
        (("id", "name"), [1, 2, 3, 4, 5, 6, 7]),
    ],
)
@pytest.mark.parametrize("page_size", [1, 2, 3, 7, 100])
async def test_keyset_pages_walk_the_whole_order_once(
    items: DataStorage[Item], order_by: tuple[str, ...], expected: list[int], page_size: int
) -> None:
    await seed(items)
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        page = await items.list(order_by=order_by, limit=page_size, cursor=cursor)
        assert len(page.items) <= page_size
        seen.extend(row.id for row in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert expected == seen


async def test_keyset_page_is_stable_under_concurrent_inserts(items: DataStorage[Item]) -> None:
    """Rows inserted before the cursor position never shift the next page."""
    await seed(items)
    first = await items.list(order_by=("name",), limit=3)
    await items.add(item(0, "aardvark"))

    second = await items.list(order_by=("name",), limit=3, cursor=first.next_cursor)

    assert [row.id for row in second.items] == [4, 5, 6]


async def test_list_with_filters_and_cursor(items: DataStorage[Item]) -> None:
    await seed(items)
    fruit = {"category": "fruit"}

    first = await items.list(fruit, order_by=("-price",), limit=2)
    second = await items.list(fruit, order_by=("-price",), limit=2, cursor=first.next_cursor)

    assert [[r.id for r in first.items], [r.id for r in second.items]] == [[1, 6], [2]]
    assert second.next_cursor is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.list({"colour": "red"}), "unknown filter field 'colour'"),
        (lambda s: s.count({"colour": "red"}), "unknown filter field 'colour'"),
        (lambda s: s.list({"price": "cheap"}), "invalid value for field 'price'"),
        (lambda s: s.list([Filter("name", "in", "apple")]), "needs a list of values"),
        (lambda s: s.list([Filter("name", "in", 3)]), "needs a list of values"),
        (lambda s: s.list([Filter("name", "in", ["a", None])]), "does not accept null"),
        (lambda s: s.list([Filter("price", "lt", None)]), "null only works with eq or ne"),
        (lambda s: s.list(order_by=("colour",)), "unknown order field 'colour'"),
        (lambda s: s.list(order_by=("-category",)), "cannot order on nullable field"),
        (lambda s: s.list(order_by=("name", "-name")), "appears twice"),
        (lambda s: s.list(limit=0), "limit must be an integer between 1 and 1000"),
        (lambda s: s.list(limit=1001), "limit must be an integer between 1 and 1000"),
        (lambda s: s.list(limit=True), "limit must be an integer"),
        (lambda s: s.list(cursor="%%%"), "the cursor is not valid"),
        (lambda s: s.list(cursor="bm90IGpzb24"), "the cursor is not valid"),
        (lambda s: s.list(cursor="W1siaWQiXSxbImEiXV0"), "the cursor is not valid"),
        (lambda s: s.list(cursor="W1siaWQiXSxbMV1d", order_by=("-id",)), "another order"),
        (lambda s: s.list(cursor="W1siaWQiXSxbMSwyXV0"), "another order"),
    ],
)
async def test_bad_query_input_is_a_validation_error(
    items: DataStorage[Item], call: object, message: str
) -> None:
    with pytest.raises(ValidationFailedError, match=message):
        await call(items)  # type: ignore[operator]


def test_unknown_filter_operator_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailedError, match="unknown filter operator 'like'"):
        Filter("name", "like", "a%")  # type: ignore[arg-type]


async def test_concurrent_updates_have_one_winner_per_version(items: DataStorage[Item]) -> None:
    await items.add(item(1))

    async def attempt(record: Item, name: str) -> Item | None:
        try:
            return await items.update(record.model_copy(update={"name": name}))
        except ConflictError:
            return None

    for version in (1, 2, 3):
        current = await items.get(1)
        assert current is not None
        assert version == current.version
        results = await asyncio.gather(*(attempt(current, f"w{n}") for n in range(12)))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert winners[0] == await items.get(1)


async def test_unit_of_work_commits_every_storage_together(
    items: DataStorage[Item], tags: DataStorage[Tag]
) -> None:
    committed: list[str] = []

    async def after() -> None:
        committed.append("done")

    async with items.unit_of_work() as uow:
        await items.add(item(1))
        await tags.add(Tag(id="t1", label="new"))
        uow.on_commit(after)
        assert (await items.get(1)) is not None  # own writes are visible inside
        assert committed == []

    assert committed == ["done"]
    assert (await items.get(1)) is not None
    assert (await tags.get("t1")) is not None


async def test_failure_inside_unit_of_work_leaves_no_partial_write(
    items: DataStorage[Item], tags: DataStorage[Tag]
) -> None:
    stored = await items.add(item(1))
    called: list[str] = []

    async def after() -> None:
        called.append("never")

    async def failing_unit() -> None:
        async with items.unit_of_work() as uow:
            uow.on_commit(after)
            await items.update(stored.model_copy(update={"name": "changed"}))
            await items.add(item(2))
            await tags.add(Tag(id="t1", label="new"))
            await items.delete(1, version=2)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_unit()

    assert stored == await items.get(1)
    assert await items.get(2) is None
    assert await tags.get("t1") is None
    assert await items.count() == 1
    assert called == []


async def test_unit_of_work_sees_its_writes_in_listings(items: DataStorage[Item]) -> None:
    await items.add(item(1, "a"))
    await items.add(item(2, "b"))

    async with items.unit_of_work():
        await items.delete(1)
        await items.add(item(3, "c"))
        page = await items.list(order_by=("name",))
        count = await items.count()

    assert [row.id for row in page.items] == [2, 3]
    assert count == 2


async def test_nested_unit_of_work_joins_the_outer_one(items: DataStorage[Item]) -> None:
    async def nested() -> None:
        async with items.unit_of_work() as outer:
            async with items.unit_of_work() as inner:
                assert inner is outer
                await items.add(item(1))
            raise RuntimeError("outer")

    with pytest.raises(RuntimeError, match="outer"):
        await nested()

    assert await items.get(1) is None


async def test_conflict_inside_unit_of_work_can_be_handled(items: DataStorage[Item]) -> None:
    await items.add(item(1))

    async with items.unit_of_work():
        with pytest.raises(ConflictError, match=r"already exists|conflicts with an existing one"):
            await items.add(item(1, "dup"))
        await items.add(item(2))

    assert [row.id for row in (await items.list()).items] == [1, 2]


async def test_update_twice_in_one_unit_of_work(items: DataStorage[Item]) -> None:
    stored = await items.add(item(1))

    async with items.unit_of_work():
        second = await items.update(stored.model_copy(update={"name": "b"}))
        third = await items.update(second.model_copy(update={"name": "c"}))

    assert third == await items.get(1)
    assert third.version == 3


async def failing_nested_unit(
    items: DataStorage[Item], tags: DataStorage[Tag], callback: Callable[[], Awaitable[None]]
) -> None:
    async with items.unit_of_work() as inner:
        await items.add(item(2))
        await tags.add(Tag(id="t1", label="inner"))
        await items.delete(1)
        inner.on_commit(callback)
        raise RuntimeError("inner")


async def test_failed_nested_unit_of_work_undoes_only_its_own_writes(
    items: DataStorage[Item], tags: DataStorage[Tag]
) -> None:
    """A nested block that raises is a savepoint: caught outside, the rest still commits."""
    called: list[str] = []

    async def after(name: str) -> None:
        called.append(name)

    async with items.unit_of_work() as outer:
        async with items.unit_of_work():  # the savepoint is the transaction's first statement
            pass
        await items.add(item(1))
        outer.on_commit(lambda: after("outer"))
        with pytest.raises(RuntimeError, match="inner"):
            await failing_nested_unit(items, tags, lambda: after("inner"))
        assert await items.get(1) is not None  # the savepoint undid the delete
        await tags.add(Tag(id="t2", label="outer"))

    assert [1] == [row.id for row in (await items.list()).items]
    assert (await tags.get("t1"), (await tags.get("t2")) is not None) == (None, True)
    assert called == ["outer"]


async def test_cancelled_unit_of_work_leaves_no_partial_write(items: DataStorage[Item]) -> None:
    inside = asyncio.Event()

    async def unit() -> None:
        async with items.unit_of_work():
            await items.add(item(1))
            inside.set()
            await asyncio.Event().wait()  # cancelled mid-unit (below)

    task = asyncio.create_task(unit())
    await asyncio.wait_for(inside.wait(), 10)
    task.cancel("the caller gives up")
    with pytest.raises(asyncio.CancelledError, match=r"^the caller gives up$"):
        await task

    assert await items.get(1) is None
    await items.add(item(2))  # the backend is still usable
    assert await items.count() == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.list("price"), "filters must be a list of Filter or a mapping"),
        (lambda s: s.list(None), "filters must be a list of Filter or a mapping"),
        (lambda s: s.count(["price"]), "not a Filter: str"),
        (lambda s: s.list(order_by=[1]), "order_by must be a list of field names"),
        (lambda s: s.list(order_by=None), "order_by must be a list of field names"),
        (lambda s: s.list([Filter("id", "in", list(range(1001)))]), "at most 1000 values"),
        (lambda s: s.list(cursor="W" * 40_000), "the cursor is not valid"),
        (lambda s: s.delete(1, version="2"), "the version must be an integer"),
        (lambda s: s.get(2**70), "invalid value|cannot be stored|does not fit"),
        (lambda s: s.list({"name": "\ud800"}), "invalid value|cannot be stored"),
    ],
)
async def test_malformed_arguments_are_validation_errors(
    items: DataStorage[Item], call: object, message: str
) -> None:
    """Wrong shapes and values a driver cannot bind are 422s, never a raw Python/SQL error."""
    await items.add(item(1))
    with pytest.raises(ValidationFailedError, match=message):
        await call(items)  # type: ignore[operator]
    assert await items.count() == 1


async def test_deeply_nested_cursor_is_a_validation_error(items: DataStorage[Item]) -> None:
    cursor = base64.urlsafe_b64encode(b"[" * 100_000).decode()

    with pytest.raises(ValidationFailedError, match="the cursor is not valid"):
        await items.list(cursor=cursor)

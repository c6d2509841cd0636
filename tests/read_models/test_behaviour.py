"""One behaviour suite for every read model, on memory and on the real Redis."""

from __future__ import annotations

import math

import pytest

from .conftest import Models


async def test_timeline_keeps_the_newest_items_up_to_its_cap(models: Models) -> None:
    timeline = models.timeline(max_items=3)
    for score, item in enumerate(["a", "b", "c", "d", "e"]):
        await timeline.add("user:1", item, float(score))
    assert [("e", 4.0), ("d", 3.0), ("c", 2.0)] == await timeline.latest("user:1")
    assert [("e", 4.0)] == await timeline.latest("user:1", limit=1)
    assert 3 == await timeline.size("user:1")
    await timeline.add("user:1", "c", 10.0)  # moving an item does not grow the set
    assert ["c", "e", "d"] == [item for item, _ in await timeline.latest("user:1")]
    assert await timeline.remove("user:1", "c")
    assert not await timeline.remove("user:1", "c")
    assert [] == await timeline.latest("user:2")


async def test_timeline_ties_drop_the_smaller_item_first(models: Models) -> None:
    timeline = models.timeline(max_items=2)
    for item in ["b", "a", "c"]:
        await timeline.add("k", item, 1.0)
    assert [("c", 1.0), ("b", 1.0)] == await timeline.latest("k")


async def test_counter(models: Models) -> None:
    counter = models.counter()
    assert 0 == await counter.get("post:1")
    assert 1 == await counter.increment("post:1")
    assert 6 == await counter.increment("post:1", 5)
    assert 4 == await counter.increment("post:1", -2)
    assert 4 == await counter.get("post:1")
    await counter.reset("post:1")
    assert 0 == await counter.get("post:1")
    with pytest.raises(TypeError, match="counter moves by an int"):
        await counter.increment("post:1", 1.5)  # type: ignore[arg-type]


async def test_membership_set(models: Models) -> None:
    members = models.membership()
    assert 2 == await members.add("team:1", "ann", "bob", "ann")
    assert 0 == await members.add("team:1", "bob")
    assert 0 == await members.add("team:1")
    assert await members.contains("team:1", "ann")
    assert not await members.contains("team:1", "eve")
    assert {"ann", "bob"} == await members.members("team:1")
    assert 1 == await members.remove("team:1", "ann", "eve")
    assert 0 == await members.remove("team:1")
    assert 1 == await members.size("team:1")
    assert set() == await members.members("team:2")


async def test_leaderboard(models: Models) -> None:
    board = models.leaderboard()
    assert 5.0 == await board.increment("week:1", "ann", 5)
    assert 7.5 == await board.increment("week:1", "ann", 2.5)
    await board.set_score("week:1", "bob", 9)
    await board.increment("week:1", "cid")
    assert [("bob", 9.0), ("ann", 7.5)] == await board.top("week:1", 2)
    assert 0 == await board.rank("week:1", "bob")
    assert 2 == await board.rank("week:1", "cid")
    assert await board.rank("week:1", "eve") is None
    assert 7.5 == await board.score("week:1", "ann")
    assert await board.score("week:1", "eve") is None


async def test_unique_count(models: Models) -> None:
    unique = models.unique()
    await unique.add("page:1", "ann", "bob", "ann")
    await unique.add("page:1")
    assert 2 == await unique.count("page:1")
    await unique.add("page:2", *(f"visitor-{n}" for n in range(2000)))
    await unique.add("page:2", *(f"visitor-{n}" for n in range(1000)))  # seen before
    assert abs(await unique.count("page:2") - 2000) <= 2000 * 0.02  # HyperLogLog: 0.81 %
    assert 0 == await unique.count("page:3")


async def test_clear_deletes_only_this_read_models_keys(models: Models) -> None:
    views, likes = models.counter("views"), models.counter("likes")
    timeline = models.timeline("feed")
    for key in ("a", "b"):
        await views.increment(key)
        await likes.increment(key)
        await timeline.add(key, "x", 1.0)
    assert 2 == await views.clear()
    assert (0, 1) == (await views.get("a"), await likes.get("a"))
    assert 2 == await timeline.clear()
    assert 0 == await timeline.size("a")
    assert 0 == await views.clear()


async def test_clear_of_every_kind(models: Models) -> None:
    members, board, unique = models.membership(), models.leaderboard(), models.unique()
    await members.add("k", "m")
    await board.increment("k", "m")
    await unique.add("k", "m")
    assert [1, 1, 1] == [await model.clear() for model in (members, board, unique)]
    assert (0, None, 0) == (
        await members.size("k"),
        await board.score("k", "m"),
        await unique.count("k"),
    )


@pytest.mark.parametrize("key", ["", "x" * 513, 7])
async def test_bad_keys_are_refused(models: Models, key: object) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        await models.counter().get(key)  # type: ignore[arg-type]


async def test_bad_members_and_scores_are_refused(models: Models) -> None:
    with pytest.raises(TypeError, match="members are strings"):
        await models.membership().add("k", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a score is a number"):
        await models.leaderboard().increment("k", "m", math.nan)
    with pytest.raises(ValueError, match="a score is a number"):
        await models.timeline().add("k", "m", "high")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit must be a positive int"):
        await models.leaderboard().top("k", 0)


@pytest.mark.parametrize("name", ["", "with space", "a:b", None])
def test_bad_names_are_refused(models: Models, name: object) -> None:
    with pytest.raises(ValueError, match="invalid read model name"):
        models.counter(name)  # type: ignore[arg-type]


def test_a_timeline_needs_a_positive_cap(models: Models) -> None:
    with pytest.raises(ValueError, match="limit must be a positive int"):
        models.timeline(max_items=0)

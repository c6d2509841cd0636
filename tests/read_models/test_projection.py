"""`ProjectionRunner`: live through the inbox, rebuilt from scratch, bad events refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel

import mic.read_models
from mic.eventbus import Event, EventSpec, InMemoryEventBus, ReceivedEvent
from mic.inbox import InMemoryInbox
from mic.model import TransientError
from mic.read_models import Projection, ProjectionRunner, RebuildReport
from tests.eventbus.conftest import FAST
from tests.support import eventually

from .conftest import Models


class Posted(BaseModel):
    post_id: str
    author: str
    at: float


class Liked(BaseModel):
    post_id: str
    user: str


POSTED = EventSpec("posts.created", Posted)
LIKED = EventSpec("posts.liked", Liked)


def test_exports() -> None:
    public = sorted(name for name in vars(mic.read_models) if not name.startswith("_"))
    assert public == sorted(mic.read_models.__all__)


class Feed:
    """Read models of a small social feed and the projections that feed them."""

    def __init__(self, models: Models) -> None:
        self.timeline = models.timeline("feed", max_items=10)
        self.likes = models.counter("likes")
        self.likers = models.membership("likers")
        self.authors = models.leaderboard("authors")
        self.reach = models.unique("reach")

    async def posted(self, received: ReceivedEvent[Posted]) -> None:
        post = received.payload
        await self.timeline.add(post.author, post.post_id, post.at)

    async def liked(self, received: ReceivedEvent[Liked]) -> None:
        like = received.payload
        await self.likes.increment(like.post_id)
        await self.likers.add(like.post_id, like.user)
        await self.authors.increment("all", like.post_id)
        await self.reach.add(like.post_id, like.user)

    def runner(self, bus: InMemoryEventBus, inbox: InMemoryInbox) -> ProjectionRunner:
        return ProjectionRunner(
            bus,
            [Projection(POSTED, self.posted), Projection(LIKED, self.liked)],
            read_models=[self.timeline, self.likes, self.likers, self.authors, self.reach],
            inbox=inbox,
            group="feed",
        )


def _history() -> list[Event]:
    return [
        POSTED.event({"post_id": "p1", "author": "ann", "at": 1.0}),
        LIKED.event({"post_id": "p1", "user": "bob"}),
        LIKED.event({"post_id": "p1", "user": "cid"}),
    ]


async def test_live_events_are_applied_once_each(models: Models) -> None:
    feed, inbox = Feed(models), InMemoryInbox()
    async with InMemoryEventBus(options=FAST) as bus:
        runner = feed.runner(bus, inbox)
        await runner.start()
        with pytest.raises(RuntimeError, match="already running"):
            await runner.start()
        history = _history()
        for event in [*history, history[1]]:  # the second like arrives twice
            await bus.publish(event)
        await eventually(lambda: _equals(inbox, 1))
        await runner.stop()
        await runner.stop()
    assert 2 == await feed.likes.get("p1")
    assert [("p1", 1.0)] == await feed.timeline.latest("ann")
    assert {"bob", "cid"} == await feed.likers.members("p1")
    assert [("p1", 2.0)] == await feed.authors.top("all")


async def _equals(inbox: InMemoryInbox, duplicates: int) -> bool:
    return inbox.duplicates == duplicates


async def test_rebuild_starts_from_scratch(models: Models) -> None:
    feed, inbox = Feed(models), InMemoryInbox()
    await feed.likes.increment("p1", 40)  # drifted state, to be thrown away
    await feed.likes.increment("stale", 1)
    history = _history()
    unrelated = Event("posts.deleted", {"post_id": "p1"})
    broken = Event("posts.liked", {"post_id": "p1"})
    async with InMemoryEventBus() as bus:
        runner = feed.runner(bus, inbox)
        report = await runner.rebuild([*history, unrelated, broken, history[2]])
        assert RebuildReport(applied=3, skipped=2, refused=1, cleared=2) == report
        assert 2 == await feed.likes.get("p1")
        assert 0 == await feed.likes.get("stale")
        assert 2 == await feed.reach.count("p1")
        again = await runner.rebuild(_aiter(history))  # the inbox ids were forgotten too
        assert 3 == again.applied
        assert 2 == await feed.likes.get("p1")
        await runner.start()
        with pytest.raises(RuntimeError, match="stop the projection runner"):
            await runner.rebuild([])


async def _aiter(events: list[Event]) -> AsyncIterator[Event]:
    for event in events:
        yield event


def test_a_runner_needs_projections_and_a_valid_group() -> None:
    bus, inbox = InMemoryEventBus(), InMemoryInbox()
    with pytest.raises(ValueError, match="at least one projection"):
        ProjectionRunner(bus, [], read_models=[], inbox=inbox, group="g")
    with pytest.raises(ValueError, match="invalid group"):
        ProjectionRunner(bus, [Projection(LIKED, _noop)], read_models=[], inbox=inbox, group="")
    with pytest.raises(TypeError, match="spec must be an EventSpec"):
        Projection("posts.liked", _noop)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="apply must be an async callable"):
        Projection(LIKED, "nope")  # type: ignore[arg-type]


async def _noop(received: ReceivedEvent[Liked]) -> None:
    del received


@pytest.mark.redis
async def test_an_unreachable_redis_is_a_transient_error() -> None:
    import redis.asyncio as redis_asyncio

    from mic.read_models import RedisCounter

    client = redis_asyncio.from_url("redis://127.0.0.1:1")
    counter = RedisCounter(client, "views")
    try:
        with pytest.raises(TransientError, match="not reachable"):
            await counter.increment("k")
    finally:
        await client.aclose()
    assert "RedisCounter('mic:read-models:views:')" == repr(counter)

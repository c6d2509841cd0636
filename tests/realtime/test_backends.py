"""One behaviour suite for every `RealtimeBackend`: in memory, and Redis Streams on the real server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mic.healthcheck import ping_probe
from mic.model import TransientError
from mic.realtime import (
    InMemoryRealtimeBackend,
    RealtimeBackend,
    RedisStreamsRealtimeBackend,
    RoomMessage,
    message_id_key,
)
from tests.support import eventually


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make_backend(
    request: pytest.FixtureRequest, clock: Clock
) -> AsyncIterator[Callable[[], Any]]:
    """A factory of backends sharing one fan-out (two workers' backends, for Redis)."""
    made: list[RealtimeBackend] = []
    if request.param == "memory":
        shared = InMemoryRealtimeBackend(max_length=5)
        yield lambda: shared
        return
    url = request.getfixturevalue("redis_url")
    prefix = f"test:rt:{uuid.uuid4().hex}:"

    def make() -> RedisStreamsRealtimeBackend:
        backend = RedisStreamsRealtimeBackend.from_url(
            url, prefix=prefix, max_length=5, presence_ttl=30.0, clock=clock
        )
        made.append(backend)
        return backend

    yield make
    cleaner = made[0] if made else make()
    keys = [key async for key in cleaner.client.scan_iter(match=prefix + "*")]
    if keys:
        await cleaner.client.delete(*keys)
    for backend in made:
        await backend.close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[RoomMessage] = []

    def __call__(self, message: RoomMessage) -> None:
        self.messages.append(message)

    def texts(self) -> list[str]:
        return [m.data for m in self.messages]


async def test_subscribers_get_later_messages_in_order_once(make_backend: Any) -> None:
    first, second = make_backend(), make_backend()
    await first.publish("r", '"before"')
    one, two = Inbox(), Inbox()
    await first.subscribe("r", one)
    await second.subscribe("r", two)
    ids = [await second.publish("r", f'"m{n}"') for n in range(3)]
    await eventually(lambda: len(one.messages) == 3 and len(two.messages) == 3)
    assert ['"m0"', '"m1"', '"m2"'] == one.texts() == two.texts()
    assert ids == [m.id for m in one.messages]
    assert sorted(ids, key=message_id_key) == ids
    assert {"r"} == {m.room for m in one.messages}


async def test_a_second_room_is_read_while_the_first_waits(make_backend: Any) -> None:
    backend = make_backend()
    a, b = Inbox(), Inbox()
    await backend.subscribe("a", a)
    await backend.subscribe("b", b)
    await backend.publish("b", '"to b"')
    await backend.publish("a", '"to a"')
    await eventually(lambda: a.messages and b.messages)
    assert (['"to a"'], ['"to b"']) == (a.texts(), b.texts())


async def test_unsubscribe_stops_delivery(make_backend: Any) -> None:
    backend = make_backend()
    kept, gone = Inbox(), Inbox()
    await backend.subscribe("r", kept)
    await backend.subscribe("r", gone)
    await backend.unsubscribe("r", gone)
    await backend.unsubscribe("r", Inbox())
    await backend.publish("r", '"x"')
    await eventually(lambda: kept.messages)
    await backend.unsubscribe("r", kept)
    await backend.unsubscribe("never", kept)
    assert ([], ['"x"']) == (gone.texts(), kept.texts())


async def test_history_after_an_id_is_bounded_and_ordered(make_backend: Any) -> None:
    backend = make_backend()
    ids = [await backend.publish("h", f"{n}") for n in range(4)]
    assert ["2", "3"] == [m.data for m in await backend.history("h", ids[1], 10)]
    assert ["1"] == [m.data for m in await backend.history("h", ids[0], 1)]
    assert [] == await backend.history("h", ids[-1], 10)
    assert [] == await backend.history("empty", "0-0", 10)
    with pytest.raises(ValueError, match="is not '<int>-<int>'"):
        await backend.history("h", "last week", 10)


async def test_history_keeps_about_max_length(make_backend: Any) -> None:
    backend = make_backend()
    for n in range(200):
        await backend.publish("long", f"{n}")
    kept = await backend.history("long", "0-0", 1000)
    # Redis trims approximately (MAXLEN ~): whole macro nodes only.
    assert 5 <= len(kept) < 200
    assert "199" == kept[-1].data


async def test_presence(make_backend: Any, clock: Clock) -> None:
    first, second = make_backend(), make_backend()
    await first.add_member("p", "alice#1")
    await second.add_member("p", "bob#2")
    assert ["alice#1", "bob#2"] == await first.members("p")
    await second.remove_member("p", "bob#2")
    await second.remove_member("p", "nobody#3")
    assert ["alice#1"] == await second.members("p")
    await first.refresh_members({"p": {"alice#1"}, "q": set()})
    assert [] == await first.members("q")


@pytest.mark.redis
async def test_redis_presence_fades_without_refresh(redis_url: str, clock: Clock) -> None:
    backend = RedisStreamsRealtimeBackend.from_url(
        redis_url, prefix=f"test:rt:{uuid.uuid4().hex}:", presence_ttl=30.0, clock=clock
    )
    await backend.add_member("p", "ghost#1")
    clock.now += 31
    assert [] == await backend.members("p")
    await backend.client.delete(backend._presence_key("p"))
    await backend.close()


async def test_probe_is_named_realtime_and_answers(make_backend: Any) -> None:
    probe = ping_probe(make_backend())
    assert "realtime" == probe.name
    assert None is await probe.check()


@pytest.mark.redis
async def test_redis_publish_to_an_unreachable_server_is_transient() -> None:
    backend = RedisStreamsRealtimeBackend.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(TransientError, match="realtime backend is unavailable"):
        await backend.publish("r", "1")
    await backend.client.aclose()


def test_backend_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        InMemoryRealtimeBackend(max_length=0)
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        RedisStreamsRealtimeBackend.from_url("redis://127.0.0.1:1/0", max_length=0)
    with pytest.raises(ValueError, match="presence_ttl must be between"):
        RedisStreamsRealtimeBackend.from_url("redis://127.0.0.1:1/0", presence_ttl=0)


def test_message_ids_sort_numerically() -> None:
    assert message_id_key("10-0") > message_id_key("9-5")
    with pytest.raises(ValueError, match="is not '<int>-<int>'"):
        message_id_key("10")


@pytest.mark.redis
async def test_redis_reader_survives_a_dropped_connection(redis_url: str) -> None:
    prefix = f"test:rt:{uuid.uuid4().hex}:"
    reader = RedisStreamsRealtimeBackend.from_url(redis_url, prefix=prefix)
    writer = RedisStreamsRealtimeBackend.from_url(redis_url, prefix=prefix)
    inbox = Inbox()
    await reader.subscribe("r", inbox)
    await writer.publish("r", '"one"')
    await eventually(lambda: len(inbox.messages) == 1)
    # Drop every connection of the reader's pool, the blocked XREAD's included.
    await reader.client.connection_pool.disconnect(inuse_connections=True)
    await writer.publish("r", '"two"')
    await eventually(lambda: len(inbox.messages) == 2)
    assert ['"one"', '"two"'] == inbox.texts()
    await writer.client.delete(f"{prefix}room:r")
    await reader.close()
    await writer.close()

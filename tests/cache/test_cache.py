"""The `CacheBackend` behaviour on every backend, plus get-or-compute and `@cached`."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from mic.cache import CacheBackend, InMemoryCache, RedisCache, cached
from tests.support import FakeClock, eventually


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[CacheBackend]:
    """Each cache backend (Redis under a prefix unique to the test, cleared afterwards)."""
    if request.param == "memory":
        yield InMemoryCache()
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    backend = RedisCache(client, prefix=f"mic:test:{uuid.uuid4().hex}:")
    try:
        yield backend
    finally:
        await backend.clear()
        await client.aclose()


async def test_set_then_get_round_trips_json_values(cache: CacheBackend) -> None:
    value = {"name": "a", "tags": ["x", "y"], "count": 3, "ratio": 0.5, "ok": True}

    await cache.set("k", value)

    assert value == await cache.get("k")
    assert await cache.get("missing") is None


async def test_delete_and_clear(cache: CacheBackend) -> None:
    await cache.set("a", 1)
    await cache.set("b", 2)

    assert await cache.delete("a") is True
    assert await cache.delete("a") is False
    await cache.clear()
    assert await cache.get("b") is None


async def test_entries_expire_after_their_ttl(cache: CacheBackend) -> None:
    """Polled, not slept on: the short entry goes (a deadline fails a TTL never applied)."""
    await cache.set("short", "v", ttl=0.05)
    await cache.set("long", "v", ttl=10)

    async def short_gone() -> bool:
        return await cache.get("short") is None

    await eventually(short_gone, what="the 0.05 s entry expired")

    assert "v" == await cache.get("long")


async def test_memory_entries_expire_on_the_injected_clock() -> None:
    clock = FakeClock()
    cache = InMemoryCache(clock=clock)
    await cache.set("k", "v", ttl=10)

    clock.advance(9.99)
    assert "v" == await cache.get("k")
    clock.advance(0.01)
    assert await cache.get("k") is None


@pytest.mark.parametrize(
    ("value", "ttl", "error", "message"),
    [
        (None, None, ValueError, "None cannot be cached"),
        ("v", 0, ValueError, "ttl must be > 0"),
        ("v", -1.0, ValueError, "ttl must be > 0"),
    ],
)
async def test_bad_set_arguments_are_rejected(
    cache: CacheBackend, value: object, ttl: float | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await cache.set("k", value, ttl=ttl)


class Watched(CacheBackend):
    """A real backend behind the shared `get_or_compute`, watching its callers.

    A caller that arrived and is not reading has joined the computation in flight: it goes
    from a returned read to the flight without yielding to another task.
    """

    def __init__(self, backend: CacheBackend) -> None:
        super().__init__()
        self.backend = backend
        self.arrived = 0
        self.reading = 0

    def all_joined(self, callers: int) -> bool:
        """Whether `callers` callers (or more) arrived and none is still reading."""
        return self.arrived >= callers and not self.reading

    async def get_or_compute(self, key: str, compute: Any, *, ttl: float | None = None) -> Any:
        self.arrived += 1
        return await super().get_or_compute(key, compute, ttl=ttl)

    async def get(self, key: str) -> object:
        self.reading += 1
        try:
            return await self.backend.get(key)
        finally:
            self.reading -= 1

    async def set(self, key: str, value: object, *, ttl: float | None = None) -> None:
        await self.backend.set(key, value, ttl=ttl)

    async def delete(self, key: str) -> bool:
        return await self.backend.delete(key)

    async def clear(self) -> None:
        await self.backend.clear()


async def test_concurrent_misses_compute_once(cache: CacheBackend) -> None:
    """The computation lasts until every caller has joined it."""
    watched = Watched(cache)
    calls = 0

    async def compute() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await eventually(lambda: watched.all_joined(100))
        return {"answer": 42}

    results = await asyncio.gather(*(watched.get_or_compute("k", compute) for _ in range(100)))

    assert calls == 1
    assert results == [{"answer": 42}] * 100
    assert await watched.get_or_compute("k", compute) == {"answer": 42}
    assert calls == 1


async def test_failed_computation_reaches_every_waiter_and_caches_nothing(
    cache: CacheBackend,
) -> None:
    """The computation fails once every caller has joined it."""
    watched = Watched(cache)
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await eventually(lambda: watched.all_joined(10))
        raise RuntimeError("backend down")

    results = await asyncio.gather(
        *(watched.get_or_compute("k", compute) for _ in range(10)), return_exceptions=True
    )

    assert calls == 1
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await cache.get("k") is None
    with pytest.raises(RuntimeError, match="backend down"):
        await watched.get_or_compute("k", compute)


async def test_none_result_is_returned_but_not_cached(cache: CacheBackend) -> None:
    calls = 0

    async def compute() -> None:
        nonlocal calls
        calls += 1

    assert await cache.get_or_compute("k", compute) is None
    assert await cache.get_or_compute("k", compute) is None
    assert calls == 2


async def test_cancelled_leader_lets_a_waiter_compute(cache: CacheBackend) -> None:
    started = asyncio.Event()
    calls = 0

    async def slow() -> str:
        nonlocal calls
        calls += 1
        started.set()
        await asyncio.Event().wait()  # the leader is cancelled while computing
        return "never"

    async def fast() -> str:
        nonlocal calls
        calls += 1
        return "value"

    leader = asyncio.create_task(cache.get_or_compute("k", slow))
    await started.wait()
    waiter = asyncio.create_task(cache.get_or_compute("k", fast))
    await asyncio.sleep(0)  # one step: the waiter finds the leader's flight and joins it
    leader.cancel()

    assert await waiter == "value"
    assert calls == 2
    with pytest.raises(asyncio.CancelledError, match=r"^$"):
        await leader


async def test_cancelled_waiter_does_not_disturb_the_leader(cache: CacheBackend) -> None:
    """Synchronized on conditions, not on sleeps: the waiter is cancelled once it waits."""
    computing, release = asyncio.Event(), asyncio.Event()

    async def compute() -> str:
        computing.set()
        await release.wait()
        return "value"

    leader = asyncio.create_task(cache.get_or_compute("k", compute))
    await computing.wait()  # the leader's computation is in flight
    waiter = asyncio.create_task(cache.get_or_compute("k", compute))
    await asyncio.sleep(0)  # one step: the waiter finds the flight and joins it (no I/O)
    waiter.cancel()
    release.set()

    assert await leader == "value"
    with pytest.raises(asyncio.CancelledError, match=r"^$"):
        await waiter


async def test_cached_decorator_caches_per_arguments(cache: CacheBackend) -> None:
    calls: list[tuple[int, str]] = []

    @cached(cache, ttl=10)
    async def price(item_id: int, *, currency: str = "EUR") -> float:
        calls.append((item_id, currency))
        await asyncio.sleep(0)  # in flight while the other callers arrive
        return item_id * 1.5

    results = await asyncio.gather(*(price(2) for _ in range(20)), price(2, currency="USD"))

    assert results == [3.0] * 21
    assert sorted(calls) == [(2, "EUR"), (2, "USD")]
    assert price.__name__ == "price"


class GatedCache(InMemoryCache):
    """Reads answer what was stored when they started, but return only when let through."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: list[asyncio.Event] = []

    async def get(self, key: str) -> object:
        value = await super().get(key)
        if self.gates:
            await self.gates.pop(0).wait()
        return value


async def test_a_miss_read_before_the_value_landed_does_not_compute_again() -> None:
    """Issue 15: a slow miss (a Redis reply late under load) once started a second compute."""
    cache = GatedCache()
    gate = asyncio.Event()
    cache.gates.append(gate)
    calls: list[str] = []

    async def compute() -> str:
        calls.append("computed")
        return "value"

    late = asyncio.create_task(cache.get_or_compute("k", compute))
    await asyncio.sleep(0)  # `late` read the miss and waits at its gate
    assert await cache.get_or_compute("k", compute) == "value"  # computes and stores
    gate.set()

    assert await late == "value"
    assert calls == ["computed"]


class CancelDroppingCache(InMemoryCache):
    """A backend whose client finishes a read although the task was cancelled meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = asyncio.Event()

    async def get(self, key: str) -> object:
        self.reading.set()
        with contextlib.suppress(asyncio.CancelledError):  # dropped, as redis-py 8 can do
            await asyncio.Event().wait()
        return await super().get(key)


async def test_a_cancel_dropped_by_the_backend_still_cancels_get_or_compute() -> None:
    cache = CancelDroppingCache()

    async def compute() -> str:
        return "value"

    task = asyncio.create_task(cache.get_or_compute("k", compute))
    await cache.reading.wait()
    task.cancel()

    with pytest.raises(asyncio.CancelledError, match=r"^$"):
        await task
    assert await InMemoryCache.get(cache, "k") is None  # nothing was computed


async def test_cached_decorator_with_custom_key(cache: CacheBackend) -> None:
    @cached(cache, key=lambda obj: f"obj:{obj.name}")
    async def describe(obj: object) -> str:
        return f"described {obj.name}"  # type: ignore[attr-defined]

    class Thing:
        name = "t"

    assert await describe(Thing()) == "described t"
    assert await cache.get("obj:t") == "described t"


async def test_cached_decorator_rejects_non_json_arguments(cache: CacheBackend) -> None:
    @cached(cache)
    async def describe(obj: object) -> str:
        return "never"

    with pytest.raises(TypeError, match="arguments are not JSON; pass key="):
        await describe(object())


def test_cached_decorator_rejects_bad_ttl(cache: CacheBackend) -> None:
    with pytest.raises(ValueError, match="ttl must be > 0"):
        cached(cache, ttl=0)


async def test_memory_cache_evicts_least_recently_used() -> None:
    cache = InMemoryCache(max_entries=2)
    await cache.set("a", 1)
    await cache.set("b", 2)
    await cache.get("a")  # "b" is now the least recently used

    await cache.set("c", 3)

    assert (await cache.get("a"), await cache.get("b"), await cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


async def test_memory_cache_default_ttl_follows_the_clock() -> None:
    now = [0.0]
    cache = InMemoryCache(default_ttl=5, clock=lambda: now[0])
    await cache.set("a", 1)
    await cache.set("b", 1, ttl=50)

    now[0] = 5.0

    assert (await cache.get("a"), await cache.get("b")) == (None, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_entries": 0}, "max_entries must be >= 1"), ({"default_ttl": 0}, "ttl must be > 0")],
)
def test_memory_cache_rejects_bad_config(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InMemoryCache(**kwargs)  # type: ignore[arg-type]


@pytest.mark.redis
async def test_redis_cache_prefix_default_ttl_and_json_safety(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    prefix = f"mic:test:{uuid.uuid4().hex}:"
    cache = RedisCache(client, prefix=prefix, default_ttl=30)
    other = RedisCache(client, prefix=prefix + "other:")
    try:
        await cache.set("k", [1, 2])
        await other.set("k", "kept")
        ttl_ms = await client.pttl(prefix + "k")

        with pytest.raises(TypeError, match="not JSON-safe"):
            await cache.set("bad", {1, 2})
        with pytest.raises(TypeError, match="not JSON-safe"):
            await cache.set("nan", float("nan"))
        await other.clear()

        assert 0 < ttl_ms <= 30_000
        assert await cache.get("k") == [1, 2]
        assert await other.get("k") is None
        assert await client.get(prefix + "k") == b"[1,2]"
    finally:
        await cache.clear()
        await client.aclose()


@pytest.mark.redis
async def test_redis_cache_clear_handles_many_keys(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    cache = RedisCache(client, prefix=f"mic:test:{uuid.uuid4().hex}:")
    try:
        for n in range(1200):
            await client.set(f"{cache.prefix}{n}", "1")
        await cache.clear()
        assert [k async for k in client.scan_iter(match=cache.prefix + "*")] == []
    finally:
        await client.aclose()


@pytest.mark.parametrize("ttl", [float("inf"), float("nan"), 1e20])
async def test_ttl_must_be_finite(cache: CacheBackend, ttl: float) -> None:
    """An infinite or huge TTL is a ValueError (Redis would refuse it with its own error)."""
    with pytest.raises(ValueError, match="ttl must be > 0 and <="):
        await cache.set("k", "v", ttl=ttl)
    assert await cache.get("k") is None


@pytest.mark.redis
async def test_redis_cache_clear_treats_the_prefix_literally(redis_url: str) -> None:
    """Glob characters in the prefix never make `clear` delete another application's keys."""
    client = Redis.from_url(redis_url)
    base = f"mic:test:{uuid.uuid4().hex}:"
    cache = RedisCache(client, prefix=f"{base}[a]*:")
    try:
        await client.set(f"{base}a:x", "someone else's")
        await client.set(f"{base}[a]x:y", "someone else's too")
        await cache.set("k", 1)

        await cache.clear()

        assert await cache.get("k") is None
        assert await client.get(f"{base}a:x") == b"someone else's"
        assert await client.get(f"{base}[a]x:y") == b"someone else's too"
    finally:
        await client.delete(f"{base}a:x", f"{base}[a]x:y", f"{base}[a]*:k")
        await client.aclose()


def test_redis_cache_refuses_an_empty_prefix() -> None:
    with pytest.raises(ValueError, match="prefix must not be empty"):
        RedisCache(Redis(), prefix="")

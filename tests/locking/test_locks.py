"""The `DistributedLock` behaviour, on every backend."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from mic.locking import (
    DistributedLock,
    InMemoryDistributedLock,
    Lease,
    LockLostError,
    LockNotAcquiredError,
    RedisDistributedLock,
)
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[2]


async def test_second_acquire_fails_while_held(locks: DistributedLock) -> None:
    lease = await locks.try_acquire("a", ttl=5)

    assert lease is not None
    assert await locks.try_acquire("a", ttl=5) is None
    assert await locks.try_acquire("b", ttl=5) is not None


async def test_release_frees_the_lock_for_the_next_holder(locks: DistributedLock) -> None:
    first = await locks.acquire("a", ttl=5)

    assert await locks.release(first) is True
    second = await locks.try_acquire("a", ttl=5)
    assert second is not None
    assert second.fencing_token > first.fencing_token


async def test_only_the_owner_can_release_or_extend(locks: DistributedLock) -> None:
    lease = await locks.acquire("a", ttl=5)
    impostor = Lease("a", "not-the-owner", lease.fencing_token, 5)

    assert await locks.release(impostor) is False
    with pytest.raises(LockLostError, match="no longer held"):
        await locks.extend(impostor)
    assert await locks.try_acquire("a", ttl=5) is None


async def test_expired_lease_is_taken_over_and_cannot_be_extended(
    locks: DistributedLock, outlive: Callable[[float], Awaitable[None]]
) -> None:
    stale = await locks.acquire("a", ttl=0.05)
    await outlive(0.05)

    fresh = await locks.acquire("a", ttl=5, wait=0)

    assert fresh.fencing_token > stale.fencing_token
    assert await locks.release(stale) is False
    with pytest.raises(LockLostError, match="no longer held"):
        await locks.extend(stale)


async def test_extend_keeps_the_lock_past_its_first_ttl(
    locks: DistributedLock, outlive: Callable[[float], Awaitable[None]]
) -> None:
    lease = await locks.acquire("a", ttl=0.15)

    extended = await locks.extend(lease, ttl=5)
    await outlive(0.15)  # a lease still on its first TTL would now be gone

    assert (5, lease.fencing_token) == (extended.ttl, extended.fencing_token)
    assert await locks.try_acquire("a", ttl=5) is None
    assert await locks.release(extended) is True


class CountedLock(DistributedLock):
    """A real backend behind the base class's `acquire`, counting the attempts it makes."""

    def __init__(self, backend: DistributedLock) -> None:
        self.backend = backend
        self.attempts = 0

    async def try_acquire(self, name: str, *, ttl: float) -> Lease | None:
        self.attempts += 1
        return await self.backend.try_acquire(name, ttl=ttl)

    async def release(self, lease: Lease) -> bool:
        return await self.backend.release(lease)

    async def extend(self, lease: Lease, *, ttl: float | None = None) -> Lease:
        return await self.backend.extend(lease, ttl=ttl)


async def test_acquire_waits_for_release(locks: DistributedLock) -> None:
    lease = await locks.acquire("a", ttl=5)
    counted = CountedLock(locks)

    waiting = asyncio.create_task(counted.acquire("a", ttl=5, wait=10))
    await eventually(lambda: counted.attempts >= 2)  # found it held, waited, tried again
    await locks.release(lease)
    second = await waiting

    assert second.fencing_token == lease.fencing_token + 1


async def test_acquire_gives_up_after_wait(locks: DistributedLock) -> None:
    await locks.acquire("a", ttl=5)
    started = time.monotonic()

    with pytest.raises(LockNotAcquiredError, match="held by someone else") as caught:
        await locks.acquire("a", ttl=5, wait=0.1)

    assert time.monotonic() - started >= 0.1  # it did wait (an upper bound would time the machine)
    assert caught.value.headers == {"Retry-After": "5"}


async def test_hold_releases_even_on_error(locks: DistributedLock) -> None:
    async def failing() -> None:
        async with locks.hold("a", ttl=5) as lease:
            assert lease.name == "a"
            raise RuntimeError("inside")

    with pytest.raises(RuntimeError, match="inside"):
        await failing()

    assert await locks.try_acquire("a", ttl=5) is not None


async def test_tasks_never_overlap_and_tokens_increase(locks: DistributedLock) -> None:
    inside: list[int] = []
    tokens: list[int] = []

    async def worker() -> None:
        for _ in range(5):
            async with locks.hold("shared", ttl=5, wait=10) as lease:
                inside.append(1)
                assert len(inside) == 1
                tokens.append(lease.fencing_token)
                await asyncio.sleep(0)
                inside.pop()

    await asyncio.gather(*(worker() for _ in range(6)))

    assert sorted(tokens) == tokens
    assert len(set(tokens)) == 30


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda locks: locks.try_acquire("", ttl=1), "must not be empty"),
        (lambda locks: locks.try_acquire("a", ttl=0), "ttl must be > 0"),
        (lambda locks: locks.acquire("a", ttl=-1), "ttl must be > 0"),
        (lambda locks: locks.acquire("a", ttl=1, wait=-1), "wait must be >= 0"),
        (lambda locks: locks.extend(Lease("a", "o", 1, 1), ttl=0), "ttl must be > 0"),
        (lambda locks: locks.try_acquire("a", ttl=float("inf")), "ttl must be > 0 and <="),
        (lambda locks: locks.acquire("a", ttl=1e20), "ttl must be > 0 and <="),
        (lambda locks: locks.acquire("a", ttl=1, wait=float("nan")), "wait must be >= 0"),
        (lambda locks: locks.acquire("a", ttl=1, retry_interval=0), "retry_interval must be"),
    ],
)
async def test_bad_arguments_are_rejected(
    locks: DistributedLock, call: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await call(locks)  # type: ignore[operator]


async def test_memory_lock_expiry_follows_the_injected_clock() -> None:
    now = [100.0]
    locks = InMemoryDistributedLock(clock=lambda: now[0])
    lease = await locks.acquire("a", ttl=10)

    now[0] = 109.9
    assert await locks.try_acquire("a", ttl=10) is None
    now[0] = 110.0
    taken = await locks.try_acquire("a", ttl=10)

    assert taken is not None
    assert await locks.release(lease) is False


@pytest.mark.redis
async def test_processes_contending_on_redis_never_hold_the_lock_together(
    redis_url: str, redis_prefix: tuple[Redis, str]
) -> None:
    client, prefix = redis_prefix
    workers, rounds = 4, 8
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.locking.contender",
            redis_url,
            prefix,
            f"w{n}",
            str(rounds),
            cwd=ROOT,
        )
        for n in range(workers)
    ]
    codes = await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), 60)
    log = [entry.decode() for entry in await client.lrange(f"{prefix}log", 0, -1)]

    assert [0] * workers == codes
    assert 2 * workers * rounds == len(log)
    tokens = []
    for enter, leave in zip(log[::2], log[1::2], strict=True):
        assert enter.startswith("enter:")
        assert leave == "exit:" + enter.removeprefix("enter:")
        tokens.append(int(enter.rsplit(":", 1)[1]))
    assert list(range(1, workers * rounds + 1)) == tokens
    assert {f"w{n}" for n in range(workers)} == {e.split(":")[1] for e in log}


class ReplyLostRedis(Redis):
    """A real Redis client whose next script reply arrives late once `slow` is set.

    EVAL too: a server without the script cached (restarted, or flushed by another test)
    answers EVALSHA with NOSCRIPT, and the script then runs through EVAL.
    """

    slow = False

    async def evalsha(self, *args: Any) -> Any:  # type: ignore[override]
        return await self._late(await super().evalsha(*args))

    async def eval(self, *args: Any) -> Any:  # type: ignore[override]
        return await self._late(await super().eval(*args))

    async def _late(self, result: Any) -> Any:
        if self.slow:
            self.slow = False
            # The script ran on the server; the reply stays "in transit" until the caller
            # gives up (the test cancels it).
            await asyncio.Event().wait()
        return result


@pytest.mark.redis
async def test_cancelled_acquire_on_redis_does_not_leave_the_lock_taken(
    redis_url: str, redis_prefix: tuple[Redis, str]
) -> None:
    """Cancelled after Redis granted the lock: it is released, not blocked for the TTL."""
    client, prefix = redis_prefix
    slow_client = ReplyLostRedis.from_url(redis_url)
    locks = RedisDistributedLock(slow_client, prefix=prefix)
    try:
        slow_client.slow = True
        task = asyncio.create_task(locks.try_acquire("job", ttl=60))
        await eventually(lambda: client.exists(f"{prefix}held:job"), what="the lock granted")
        task.cancel()
        with pytest.raises(asyncio.CancelledError, match=r"^$"):
            await task

        lease = await locks.try_acquire("job", ttl=60)

        assert lease is not None
        assert lease.fencing_token == 2
    finally:
        await slow_client.aclose()

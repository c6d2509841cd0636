"""Every bus for the behaviour suite: memory, the real Redis and the real NATS JetStream."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from mic.eventbus import EventBus, InMemoryEventBus, SubscriptionOptions

FAST = SubscriptionOptions(
    max_attempts=3,
    retry_delay=0.01,
    max_retry_delay=0.05,
    ack_timeout=0.5,
    poll_timeout=0.1,
    drain_timeout=2.0,
)


async def redis_bus(url: str) -> AsyncIterator[EventBus]:
    import redis.asyncio as redis_asyncio

    from mic.eventbus import RedisStreamsEventBus

    client = redis_asyncio.from_url(url)
    prefix = f"test:events:{uuid.uuid4().hex}:"
    bus = RedisStreamsEventBus(client, prefix=prefix, options=FAST)
    try:
        yield bus
    finally:
        await bus.close()
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def nats_bus(url: str) -> AsyncIterator[EventBus]:
    import nats
    from nats.js.errors import NotFoundError

    from mic.eventbus import NATSEventBus

    token = uuid.uuid4().hex
    client = await nats.connect(url)
    bus = NATSEventBus(client, stream=f"TEST_{token}", subject_prefix=f"test.{token}", options=FAST)
    try:
        yield bus
    finally:
        await bus.close()
        with contextlib.suppress(NotFoundError):  # never used: never created
            await client.jetstream().delete_stream(bus.stream)
        await client.close()


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("nats", marks=pytest.mark.nats),
    ]
)
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    """Each bus in turn, with unique stream names, deleted afterwards."""
    if request.param == "memory":
        async with InMemoryEventBus(options=FAST) as memory:
            yield memory
        return
    url = request.getfixturevalue(f"{request.param}_url")
    factory = redis_bus if request.param == "redis" else nats_bus
    async for networked in factory(url):
        yield networked

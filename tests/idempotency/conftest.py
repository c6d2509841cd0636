"""The `store` fixture: every `IdempotencyStore` backend in turn, isolated per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy.schema import CreateSchema, DropSchema

from mic.datastorage import create_sql_engine
from mic.idempotency import (
    IdempotencyStore,
    InMemoryIdempotencyStore,
    RedisIdempotencyStore,
    SqlIdempotencyStore,
)
from tests.support import FakeClock, redis_outlived


async def delete_prefix(client: Redis, prefix: str) -> None:
    """Delete every key under `prefix`."""
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[IdempotencyStore]:
    """Each store backend; all but Redis (which expires keys itself) read `clock`."""
    if request.param == "memory":
        yield InMemoryIdempotencyStore(clock=clock)
        return
    if request.param == "redis":
        client = Redis.from_url(request.getfixturevalue("redis_url"))
        prefix = f"mic:test:{uuid.uuid4().hex}:"
        try:
            yield RedisIdempotencyStore(client, prefix=prefix)
        finally:
            await delete_prefix(client, prefix)
            await client.aclose()
        return
    if request.param == "sqlite":
        engine = create_sql_engine(f"sqlite:///{tmp_path / 'idem.db'}")
        sql = SqlIdempotencyStore(engine, clock=clock)
        await sql.create_schema()
        yield sql
        await sql.drop_schema()
        await engine.dispose()
        return
    base = create_sql_engine(request.getfixturevalue("postgres_url"))
    schema = f"mic_t_{uuid.uuid4().hex[:12]}"
    async with base.begin() as connection:
        await connection.execute(CreateSchema(schema))
    sql = SqlIdempotencyStore(
        base.execution_options(schema_translate_map={None: schema}), clock=clock
    )
    await sql.create_schema()
    try:
        yield sql
    finally:
        async with base.begin() as connection:
            await connection.execute(DropSchema(schema, cascade=True))
        await base.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """The stores' wall clock, moved by hand."""
    return FakeClock()


@pytest.fixture
def outlive(store: IdempotencyStore, clock: FakeClock) -> Callable[[float], Awaitable[None]]:
    """Let every lease and TTL of at most `seconds` run out, without sleeping.

    The stores reading `clock` see it move; Redis expires keys on its own clock (``PX``):
    for it this polls until no key of the test has that little time left.
    """

    async def outlive(seconds: float) -> None:
        clock.advance(seconds)
        if isinstance(store, RedisIdempotencyStore):
            await redis_outlived(store.client, store.prefix, seconds)

    return outlive

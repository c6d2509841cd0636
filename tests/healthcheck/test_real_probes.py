"""SQL, Redis and NATS probes against the real servers, and against a port nothing serves."""

from __future__ import annotations

import time

import pytest
from nats.aio.client import Client as NatsClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from mic.healthcheck import ReadinessChecker, nats_probe, redis_probe, sql_probe


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.mark.postgres
async def test_sql_probe_against_postgres(postgres_url: str) -> None:
    engine = create_async_engine(_psycopg(postgres_url))
    try:
        report = await ReadinessChecker([sql_probe(engine)]).check()
    finally:
        await engine.dispose()
    assert report.results[0].status == "up"


async def test_sql_probe_against_a_down_port(unused_port: int) -> None:
    engine = create_async_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{unused_port}/test",
        connect_args={"connect_timeout": 1},
    )
    try:
        report = await ReadinessChecker([sql_probe(engine, timeout=3.0)]).check()
    finally:
        await engine.dispose()
    assert report.results[0].status == "down"
    assert report.status == "not_ready"


@pytest.mark.redis
async def test_redis_probe_with_client_and_url(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        checker = ReadinessChecker(
            [
                redis_probe(client, name="client"),
                redis_probe(redis_url, name="url"),
            ]
        )
        report = await checker.check()
    finally:
        await client.aclose()
    assert [r.status for r in report.results] == ["up", "up"]


async def test_redis_probe_against_a_down_port(unused_port: int) -> None:
    report = await ReadinessChecker([redis_probe(f"redis://127.0.0.1:{unused_port}/0")]).check()
    assert report.results[0].status == "down"


@pytest.mark.nats
async def test_nats_probe_with_client_and_url(nats_url: str) -> None:
    client = NatsClient()
    await client.connect(servers=[nats_url])
    try:
        checker = ReadinessChecker(
            [
                nats_probe(client, name="client"),
                nats_probe(nats_url, name="url"),
                nats_probe([nats_url], name="list"),
            ]
        )
        report = await checker.check()
    finally:
        await client.close()
    assert [r.status for r in report.results] == ["up", "up", "up"]
    closed = await ReadinessChecker([nats_probe(client)]).check()
    assert (closed.results[0].status, closed.results[0].error) == ("down", "ConnectionError")


async def test_nats_probe_against_a_down_port(unused_port: int) -> None:
    started = time.perf_counter()
    report = await ReadinessChecker(
        [nats_probe(f"nats://127.0.0.1:{unused_port}", timeout=1.0)]
    ).check()
    assert report.results[0].status in {"down", "timeout"}
    assert time.perf_counter() - started < 2.0

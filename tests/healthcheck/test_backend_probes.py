"""The probes that ship with the toolkit's backends: real servers, closed ports, both frameworks."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import Field, SQLModel

from mic.auth import InMemoryApiKeyStore, RemoteJwks, SqlApiKeyStore
from mic.cache import InMemoryCache, RedisCache
from mic.datastorage import (
    InMemoryDataStorage,
    InMemoryDocumentDataStorage,
    InMemoryKeyValueDataStorage,
    SqlDataStorage,
    create_sql_engine,
)
from mic.healthcheck import (
    Probe,
    ReadinessChecker,
    ReadinessReport,
    ping_probe,
    readiness_route,
)
from mic.idempotency import InMemoryIdempotencyStore, RedisIdempotencyStore, SqlIdempotencyStore
from mic.locking import InMemoryDistributedLock, RedisDistributedLock
from mic.ratelimit import InMemoryRateLimiter, RedisRateLimiter
from tests.auth.keys import key
from tests.support import make_client

SECRET = "S3cretProbePassw0rd"
DOC = Path(__file__).resolve().parents[2] / "docs" / "health.md"


class ProbedRecord(SQLModel, table=True):
    """A table model for `SqlDataStorage`; its probe never touches the table."""

    __tablename__ = "mic_test_probed_record"

    id: int = Field(primary_key=True)
    version: int = 0


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _sql_backends(engine: AsyncEngine) -> list[Any]:
    return [
        SqlDataStorage(ProbedRecord, engine),
        SqlIdempotencyStore(engine),
        SqlApiKeyStore(engine),
    ]


def _redis_backends(client: Redis) -> list[Any]:
    return [
        RedisCache(client),
        RedisDistributedLock(client),
        RedisRateLimiter(client),
        RedisIdempotencyStore(client),
    ]


def _checker(backends: list[Any], **options: Any) -> ReadinessChecker:
    return ReadinessChecker([ping_probe(b, **options) for b in backends])


def _assert_no_secret(report: ReadinessReport, probes: tuple[Probe, ...]) -> None:
    assert SECRET not in json.dumps(report.to_dict())
    assert SECRET not in repr(report)
    assert all(SECRET not in repr(p) for p in probes)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (in the backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
async def sqlite_engine() -> AsyncIterator[AsyncEngine]:
    engine = create_sql_engine("sqlite://")
    yield engine
    await engine.dispose()


# --- names, options, in-memory backends -------------------------------------------------


MEMORY_BACKENDS = [
    pytest.param(lambda: InMemoryDataStorage(ProbedRecord), "storage", id="datastorage"),
    pytest.param(InMemoryKeyValueDataStorage, "storage", id="key-value"),
    pytest.param(InMemoryDocumentDataStorage, "storage", id="document"),
    pytest.param(InMemoryCache, "cache", id="cache"),
    pytest.param(InMemoryDistributedLock, "lock", id="lock"),
    pytest.param(InMemoryRateLimiter, "ratelimit", id="ratelimit"),
    pytest.param(InMemoryIdempotencyStore, "idempotency", id="idempotency"),
    pytest.param(InMemoryApiKeyStore, "api_keys", id="api-keys"),
]


@pytest.mark.parametrize(("make", "name"), MEMORY_BACKENDS)
async def test_in_memory_backends_are_ready(make: Any, name: str) -> None:
    probe = ping_probe(make())
    assert (name, True, 2.0) == (probe.name, probe.required, probe.timeout)
    report = await ReadinessChecker([probe]).check()
    assert ("ready", "up") == (report.status, report.results[0].status)


@pytest.mark.parametrize(("make", "name"), MEMORY_BACKENDS)
def test_options_reach_the_probe(make: Any, name: str) -> None:
    probe = ping_probe(make(), name=f"{name}-b", required=False, timeout=0.25)
    assert (f"{name}-b", False, 0.25) == (probe.name, probe.required, probe.timeout)


async def test_swapping_a_backend_keeps_the_probe_name(sqlite_engine: AsyncEngine) -> None:
    client = Redis.from_url("redis://127.0.0.1:6379/0")  # never connected: no I/O here
    memory = [
        InMemoryDataStorage(ProbedRecord),
        InMemoryIdempotencyStore(),
        InMemoryCache(),
        InMemoryDistributedLock(),
        InMemoryRateLimiter(),
        InMemoryIdempotencyStore(),
    ]
    sql_storage, sql_idempotency, api_keys = _sql_backends(sqlite_engine)
    servers = [sql_storage, sql_idempotency, *_redis_backends(client)]
    try:
        assert [ping_probe(b).name for b in memory] == [ping_probe(b).name for b in servers]
        assert "api_keys" == ping_probe(api_keys).name
    finally:
        await client.aclose()


async def test_a_sqlite_engine_is_probed_like_any_other(sqlite_engine: AsyncEngine) -> None:
    probes = [ping_probe(b, name=f"p{i}") for i, b in enumerate(_sql_backends(sqlite_engine))]
    report = await ReadinessChecker(probes).check()
    assert ["up", "up", "up"] == [r.status for r in report.results]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": ""}, "needs a name"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"timeout": -1.0}, "timeout must be > 0"),
    ],
)
async def test_bad_options_are_refused(
    options: dict[str, Any], message: str, sqlite_engine: AsyncEngine
) -> None:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    jwks = RemoteJwks("https://issuer.example/jwks.json")
    backends = [InMemoryCache(), *_sql_backends(sqlite_engine), *_redis_backends(client), jwks]
    try:
        for backend in backends:
            with pytest.raises(ValueError, match=message):
                ping_probe(backend, **options)
    finally:
        await client.aclose()
        await jwks.aclose()


def test_duplicate_default_names_are_reported() -> None:
    storages = [InMemoryDataStorage(ProbedRecord), InMemoryKeyValueDataStorage()]
    with pytest.raises(ValueError, match=re.escape("probe names must be unique: ['storage']")):
        _checker(storages)


# --- real PostgreSQL -----------------------------------------------------------------------


@pytest.mark.postgres
async def test_sql_backends_are_up_on_postgres(postgres_url: str) -> None:
    engine = create_async_engine(_psycopg(postgres_url))
    try:
        backends = _sql_backends(engine)
        checker = ReadinessChecker([ping_probe(b, name=type(b).__name__) for b in backends])
        report = await checker.check()
    finally:
        await engine.dispose()
    assert ["up", "up", "up"] == [r.status for r in report.results]
    assert "ready" == report.status


@pytest.mark.postgres
async def test_sql_probe_reuses_the_engine_pool(postgres_url: str) -> None:
    engine = create_async_engine(_psycopg(postgres_url))
    connects: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda *_: connects.append(None))
    try:
        checker = ReadinessChecker([ping_probe(SqlDataStorage(ProbedRecord, engine))])
        reports = [await checker.check() for _ in range(5)]
    finally:
        await engine.dispose()
    assert ["up"] * 5 == [r.results[0].status for r in reports]
    assert 1 == len(connects)


async def test_sql_backends_on_a_closed_port_are_down_without_the_password(
    closed_port: int,
) -> None:
    url = f"postgresql+psycopg://app:{SECRET}@127.0.0.1:{closed_port}/test"
    engine = create_async_engine(url, connect_args={"connect_timeout": 1})
    try:
        checker = ReadinessChecker(
            [ping_probe(b, name=type(b).__name__, timeout=1.5) for b in _sql_backends(engine)]
        )
        started = time.perf_counter()
        report = await checker.check()
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert ["down"] * 3 == [r.status for r in report.results]
    assert {"OperationalError"} == {r.error for r in report.results}
    assert "not_ready" == report.status
    assert elapsed < 1.5
    _assert_no_secret(report, checker.probes)


async def test_sql_probe_on_a_silent_server_times_out(silent_port: int) -> None:
    engine = create_async_engine(f"postgresql+psycopg://app:{SECRET}@127.0.0.1:{silent_port}/t")
    try:
        checker = ReadinessChecker([ping_probe(SqlDataStorage(ProbedRecord, engine), timeout=0.3)])
        started = time.perf_counter()
        report = await checker.check()
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert ("timeout", "no answer within 0.3s") == (
        report.results[0].status,
        report.results[0].error,
    )
    assert elapsed < 1.0
    _assert_no_secret(report, checker.probes)


# --- real Redis ------------------------------------------------------------------------------


def _connections_named(clients: list[dict[str, Any]], name: str) -> int:
    return sum(1 for c in clients if c.get("name") == name)


@pytest.mark.redis
async def test_redis_backends_are_up_and_reuse_the_client_pool(redis_url: str) -> None:
    tag = f"mic-probe-test-{uuid.uuid4().hex}"
    client = Redis.from_url(redis_url, client_name=tag)
    admin = Redis.from_url(redis_url)
    try:
        for backend in _redis_backends(client):
            checker = ReadinessChecker([ping_probe(backend)])
            reports = [await checker.check() for _ in range(3)]
            assert ["up"] * 3 == [r.results[0].status for r in reports], backend
        assert 1 == _connections_named(await admin.client_list(), tag)
        together = await _checker(_redis_backends(client)).check()
    finally:
        await client.aclose()
        await admin.aclose()
    assert "ready" == together.status
    assert ["cache", "lock", "ratelimit", "idempotency"] == [r.name for r in together.results]


async def test_redis_backends_on_a_closed_port_are_down_without_the_password(
    closed_port: int,
) -> None:
    client = Redis.from_url(f"redis://:{SECRET}@127.0.0.1:{closed_port}/0")
    try:
        checker = _checker(_redis_backends(client), timeout=1.0)
        started = time.perf_counter()
        report = await checker.check()
        elapsed = time.perf_counter() - started
    finally:
        await client.aclose()
    assert ["down"] * 4 == [r.status for r in report.results]
    assert {"ConnectionError"} == {r.error for r in report.results}
    assert elapsed < 1.0
    _assert_no_secret(report, checker.probes)


async def test_redis_probe_on_a_silent_server_times_out(silent_port: int) -> None:
    client = Redis.from_url(f"redis://:{SECRET}@127.0.0.1:{silent_port}/0")
    try:
        checker = ReadinessChecker([ping_probe(RedisCache(client), timeout=0.3)])
        started = time.perf_counter()
        report = await checker.check()
        elapsed = time.perf_counter() - started
    finally:
        await client.aclose()
    assert "timeout" == report.results[0].status
    assert elapsed < 1.0
    _assert_no_secret(report, checker.probes)


# --- RemoteJwks -------------------------------------------------------------------------------


class JwksServer:
    """A JWKS endpoint that can go down, counting requests."""

    def __init__(self) -> None:
        self.down = False
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.down:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"keys": [key("EdDSA", "k1").to_jwk()]})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def jwks_setup() -> AsyncIterator[tuple[JwksServer, RemoteJwks, Clock]]:
    server, clock = JwksServer(), Clock()
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    jwks = RemoteJwks(
        "https://orders.internal/jwks.json", http_client=http, max_age=300, cooldown=30, clock=clock
    )
    yield server, jwks, clock
    await http.aclose()


async def _jwks_status(jwks: RemoteJwks) -> tuple[str, str | None]:
    result = (await ReadinessChecker([ping_probe(jwks)]).check()).results[0]
    return result.status, result.error


async def test_jwks_is_ready_when_it_can_be_fetched(
    jwks_setup: tuple[JwksServer, RemoteJwks, Clock],
) -> None:
    server, jwks, _ = jwks_setup
    assert ("up", None) == await _jwks_status(jwks)
    assert ("up", None) == await _jwks_status(jwks)
    assert 1 == server.requests  # a fresh set answers without I/O


async def test_jwks_is_down_until_a_first_fetch_and_polls_within_the_cooldown(
    jwks_setup: tuple[JwksServer, RemoteJwks, Clock],
) -> None:
    server, jwks, clock = jwks_setup
    server.down = True
    assert ("down", "TransientError") == await _jwks_status(jwks)
    assert ("down", "TransientError") == await _jwks_status(jwks)
    assert 1 == server.requests  # the second check fell in the cooldown
    server.down = False
    clock.now += 31
    assert ("up", None) == await _jwks_status(jwks)
    assert 2 == server.requests


async def test_jwks_stays_ready_on_its_last_good_set(
    jwks_setup: tuple[JwksServer, RemoteJwks, Clock],
) -> None:
    server, jwks, clock = jwks_setup
    assert ("up", None) == await _jwks_status(jwks)
    server.down = True
    clock.now += 301  # stale: the probe refreshes, fails, and the last good set remains
    assert ("up", None) == await _jwks_status(jwks)
    assert 2 == server.requests


async def test_jwks_on_a_closed_port_is_down_without_the_url(closed_port: int) -> None:
    jwks = RemoteJwks(f"http://127.0.0.1:{closed_port}/jwks.json?token={SECRET}", timeout=1.0)
    try:
        checker = ReadinessChecker([ping_probe(jwks, timeout=1.0)])
        report = await checker.check()
    finally:
        await jwks.aclose()
    assert ("down", "TransientError") == (report.results[0].status, report.results[0].error)
    _assert_no_secret(report, checker.probes)


# --- /ready over HTTP, both frameworks --------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
async def test_ready_route_with_backend_probes(
    framework: str, postgres_url: str, redis_url: str, closed_port: int
) -> None:
    engine = create_async_engine(_psycopg(postgres_url))
    redis = Redis.from_url(redis_url)
    gone = Redis.from_url(f"redis://:{SECRET}@127.0.0.1:{closed_port}/0")
    storage, cache = SqlDataStorage(ProbedRecord, engine), RedisCache(redis)
    limiter = RedisRateLimiter(gone, failure_mode="open")
    healthy = ReadinessChecker(
        [ping_probe(storage), ping_probe(cache), ping_probe(limiter, required=False)]
    )
    broken = ReadinessChecker([ping_probe(storage), ping_probe(RedisCache(gone))])
    routes = (readiness_route(healthy), readiness_route(broken, path="/ready/b", name="b"))
    try:
        async with make_client(framework, routes) as client:
            up = await client.get("/ready")
            down = await client.get("/ready/b")
    finally:
        await engine.dispose()
        await redis.aclose()
        await gone.aclose()
    assert (200, "degraded") == (up.status_code, up.json()["status"])
    probes = up.json()["probes"]
    assert {"storage": "up", "cache": "up", "ratelimit": "down"} == {
        name: entry["status"] for name, entry in probes.items()
    }
    assert (503, "not_ready") == (down.status_code, down.json()["status"])
    assert {"status": "down", "required": True, "error": "ConnectionError"} == {
        k: v for k, v in down.json()["probes"]["cache"].items() if k != "duration_ms"
    }
    assert SECRET not in up.text + down.text


# --- the documented example -------------------------------------------------------------------


def _doc_example() -> str:
    section = DOC.read_text().split("## Probes that ship with the backends", 1)[1]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)[0]


@pytest.mark.postgres
@pytest.mark.redis
async def test_documented_example_runs(postgres_url: str, redis_url: str) -> None:
    del postgres_url, redis_url  # the example names the test servers itself
    scope: dict[str, Any] = {"__name__": f"docs.{DOC.stem.replace('-', '_')}"}
    await asyncio.to_thread(exec, compile(_doc_example(), str(DOC), "exec"), scope)
    assert "ready" == scope["report"].status


# --- ping_probe on objects that are not toolkit backends ---------------------------------


class _Pinged:
    """A resource of the user's own: counts its pings, fails when told to."""

    def __init__(self, *, fail: bool = False) -> None:
        self.pings = 0
        self.fail = fail

    async def ping(self) -> None:
        self.pings += 1
        if self.fail:
            raise ConnectionRefusedError("no answer from 10.0.0.1")


async def test_ping_probe_awaits_the_ping_of_any_resource() -> None:
    ok, broken = _Pinged(), _Pinged(fail=True)
    report = await ReadinessChecker(
        [ping_probe(ok, name="mine"), ping_probe(broken, name="theirs", required=False)]
    ).check()
    assert {"mine": "up", "theirs": "down"} == {r.name: r.status for r in report.results}
    assert "ConnectionRefusedError" == report.results[1].error
    assert (1, 1) == (ok.pings, broken.pings)


def test_ping_probe_needs_a_name_when_the_resource_has_none() -> None:
    with pytest.raises(ValueError, match="_Pinged has no probe_name: pass name="):
        ping_probe(_Pinged())


def test_ping_probe_refuses_an_object_without_ping() -> None:
    with pytest.raises(TypeError, match="object has no ping\\(\\) method to probe"):
        ping_probe(object(), name="x")  # type: ignore[arg-type]


def test_every_toolkit_backend_is_pingable() -> None:
    from mic.healthcheck import Pingable

    assert isinstance(InMemoryCache(), Pingable)
    assert not isinstance(object(), Pingable)


async def test_inboxes_and_read_models_ping_like_every_backend(
    sqlite_engine: AsyncEngine,
) -> None:
    from mic.inbox import InMemoryInbox, SqlInbox
    from mic.read_models import InMemoryCounter

    sql_inbox = SqlInbox(SqlDataStorage(ProbedRecord, sqlite_engine))
    probes = [
        ping_probe(InMemoryInbox()),
        ping_probe(sql_inbox, name="sql-inbox"),
        ping_probe(InMemoryCounter("hits")),
    ]
    report = await ReadinessChecker(probes).check()
    assert [("inbox", "up"), ("sql-inbox", "up"), ("read_model", "up")] == [
        (r.name, r.status) for r in report.results
    ]


@pytest.mark.redis
async def test_redis_read_models_ping_their_client(redis_url: str, closed_port: int) -> None:
    from mic.read_models import RedisCounter

    client = Redis.from_url(redis_url)
    gone = Redis.from_url(f"redis://127.0.0.1:{closed_port}/0")
    try:
        checker = ReadinessChecker(
            [
                ping_probe(RedisCounter(client, "hits"), name="up"),
                ping_probe(RedisCounter(gone, "hits"), name="down"),
            ]
        )
        report = await checker.check()
    finally:
        await client.aclose()
        await gone.aclose()
    assert [("up", "up"), ("down", "down")] == [(r.name, r.status) for r in report.results]

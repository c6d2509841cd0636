"""Each section builds a working backend from its URL: memory, and the real servers."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path

import pytest

from mic.auth import ServiceAuthSigner, ServiceKey
from mic.cache import InMemoryCache, RedisCache
from mic.datastorage import InMemoryDataStorage, SqlDataStorage
from mic.eventbus import Event, InMemoryEventBus, NATSEventBus, RedisStreamsEventBus
from mic.ratelimit import InMemoryRateLimiter, RateLimitPolicy, RedisRateLimiter
from mic.settings import MicSettings
from tests.healthcheck.test_backend_probes import ProbedRecord

POLICY = RateLimitPolicy(limit=1, period=60)


def _settings(**sections: dict[str, object]) -> MicSettings:
    return MicSettings.load(env_file=None, **sections)


async def test_memory_urls_build_in_process_backends() -> None:
    settings = _settings()
    assert isinstance(settings.storage.build(ProbedRecord), InMemoryDataStorage)
    assert isinstance(settings.cache.build(), InMemoryCache)
    assert isinstance(settings.ratelimit.build(POLICY), InMemoryRateLimiter)
    bus = await settings.eventbus.connect()
    assert isinstance(bus, InMemoryEventBus)
    await bus.close()


async def test_sqlite_storage_is_built_on_its_engine(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    storage = _settings(storage={"url": url, "echo": False}).storage
    engine = storage.create_engine()
    try:
        built = storage.build(ProbedRecord, engine=engine)
        assert isinstance(built, SqlDataStorage)
        await built.ping()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgres_storage_from_a_plain_url(postgres_url: str) -> None:
    storage = _settings(storage={"url": postgres_url, "pool_size": 2}).storage
    engine = storage.create_engine()
    try:
        assert "psycopg" == engine.dialect.driver
        assert 2 == engine.pool.size()  # type: ignore[attr-defined]
        await storage.build(ProbedRecord, engine=engine).ping()
    finally:
        await engine.dispose()


@pytest.mark.redis
async def test_redis_cache_and_limiter(redis_url: str) -> None:
    prefix = f"mic-test-{uuid.uuid4().hex}:"
    settings = _settings(
        cache={"url": redis_url, "prefix": prefix, "default_ttl": 30},
        ratelimit={"url": redis_url, "prefix": prefix, "failure_mode": "open"},
    )
    cache = settings.cache.build()
    limiter = settings.ratelimit.build(POLICY)
    try:
        assert isinstance(cache, RedisCache)
        assert isinstance(limiter, RedisRateLimiter)
        await cache.set("k", {"v": 1})
        assert {"v": 1} == await cache.get("k")
        assert [True, False] == [(await limiter.consume("who")).allowed for _ in range(2)]
        await cache.clear()
        await limiter.reset("who")
    finally:
        await cache.client.aclose()  # type: ignore[attr-defined]
        await limiter.client.aclose()  # type: ignore[attr-defined]


async def _round_trip(bus: object, topic: str) -> list[Event]:
    received: list[Event] = []
    got = asyncio.Event()

    async def handle(event: Event) -> None:
        received.append(event)
        got.set()

    subscription = await bus.subscribe(topic, handle, group="g")  # type: ignore[attr-defined]
    await bus.publish(Event(topic, {"n": 1}))  # type: ignore[attr-defined]
    await asyncio.wait_for(got.wait(), timeout=10)
    await subscription.close()
    return received


@pytest.mark.redis
async def test_redis_event_bus(redis_url: str) -> None:
    prefix = f"mic-test-{uuid.uuid4().hex}:"
    bus = await _settings(eventbus={"url": redis_url, "redis_prefix": prefix}).eventbus.connect()
    try:
        assert isinstance(bus, RedisStreamsEventBus)
        assert [{"n": 1}] == [e.payload for e in await _round_trip(bus, "t.created")]
    finally:
        await bus.client.delete(f"{prefix}t.created")
        await bus.close()


@pytest.mark.nats
async def test_nats_event_bus(nats_url: str) -> None:
    unique = uuid.uuid4().hex[:12]
    section = {"url": nats_url, "stream": f"MIC_TEST_{unique}", "subject_prefix": f"t{unique}"}
    bus = await _settings(eventbus=section).eventbus.connect()
    try:
        assert isinstance(bus, NATSEventBus)
        await bus.ping()
        assert [{"n": 1}] == [e.payload for e in await _round_trip(bus, "t.created")]
    finally:
        await bus.jetstream.delete_stream(f"MIC_TEST_{unique}")
        await bus.close()


async def test_auth_verifies_tokens_with_keys_from_files_and_secrets(tmp_path: Path) -> None:
    secret = b"s" * 32
    jwk = {
        "kty": "oct",
        "kid": "file-key",
        "alg": "HS256",
        "k": base64.urlsafe_b64encode(secret).rstrip(b"=").decode(),
    }
    (tmp_path / "key.json").write_text(json.dumps(jwk))
    settings = _settings(
        auth={
            "audience": "orders",
            "issuers": "billing, shipping",
            "key_files": str(tmp_path / "key.json"),
            "hmac_secret": "h" * 32,
            "hmac_kid": "env-key",
        }
    )
    assert ["billing", "shipping"] == settings.auth.issuers
    assert ["file-key", "env-key"] == [k.kid for k in settings.auth.service_keys()]
    verifier = settings.auth.build_verifier()
    for kid, key_secret in (("file-key", secret), ("env-key", b"h" * 32)):
        signer = ServiceAuthSigner(issuer="billing", keys=ServiceKey.hmac(kid, key_secret))
        verified = await verifier.verify(signer.sign("orders"))
        assert "billing" == verified.issuer


async def test_auth_with_a_jwks_url_builds_a_remote_key_set() -> None:
    settings = _settings(
        auth={
            "audience": "orders",
            "issuers": '["billing"]',
            "jwks_url": "https://keys.example/jwks.json",
        }
    )
    verifier = settings.auth.build_verifier()
    assert verifier.jwks is not None
    assert "https://keys.example/jwks.json" == verifier.jwks.url
    await verifier.jwks.aclose()

"""`ResponseCache` on both frameworks and both backends: ETags, 304, keys, single flight."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from mic.auth import CustomAuth
from mic.cache import CacheBackend, InMemoryCache, RedisCache
from mic.http import (
    HttpCookieSpec,
    HttpRequestContext,
    HttpResponseSpec,
    HttpRouterConfig,
    HttpRouteSpec,
    Identity,
    Interceptor,
    RouteInterceptor,
    RouteSpecError,
    build_openapi,
)
from mic.response_cache import ResponseCache, ResponseCacheStore, strong_etag
from tests.support import build_app, client_for, eventually, wire


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[CacheBackend]:
    """Each cache backend (Redis under a prefix unique to the test, cleared afterwards)."""
    if request.param == "memory":
        yield InMemoryCache()
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    cache = RedisCache(client, prefix=f"mic:test:rc:{uuid.uuid4().hex}:")
    try:
        yield cache
    finally:
        await cache.clear()
        await client.aclose()


class Service:
    """Handlers that count their calls; `gate` holds them until a test lets them go."""

    def __init__(self) -> None:
        self.calls = 0
        self.version = 1
        self.gate: asyncio.Event | None = None

    async def item(self, *, item_id: str, context: HttpRequestContext) -> dict[str, Any]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        user = context.identity.subject if context.identity else None
        return {
            "id": item_id,
            "version": self.version,
            "user": user,
            "lang": context.headers.get("accept-language"),
        }

    async def special(self, *, kind: str) -> HttpResponseSpec:
        self.calls += 1
        if kind == "cookie":
            return HttpResponseSpec(body={"k": 1}, cookies=(HttpCookieSpec("s", "v"),))
        if kind == "nostore":
            return HttpResponseSpec(body={"k": 1}, headers={"Cache-Control": "no-store"})
        return HttpResponseSpec(status_code=404, body={"k": 1})


async def who(context: HttpRequestContext) -> Identity | None:
    user = context.headers.get("x-user")
    return None if user is None else Identity(user, "custom")


def make(
    framework: str, backend: CacheBackend, policy: ResponseCache, *, auth: bool = False
) -> tuple[httpx.AsyncClient, Service, ResponseCacheStore]:
    service = Service()
    store = ResponseCacheStore(backend)
    routes = [
        HttpRouteSpec(
            method="GET",
            path="/items/{item_id}",
            name="item",
            category="t",
            handler=service.item,
            interceptors=(policy,),
            auth=CustomAuth(who) if auth else None,
        ),
        HttpRouteSpec(
            method="GET",
            path="/special/{kind}",
            name="special",
            category="t",
            handler=service.special,
            interceptors=(ResponseCache(),),
        ),
    ]
    config = HttpRouterConfig(services={ResponseCacheStore: store})
    return client_for(build_app(framework, routes, config)), service, store


async def test_miss_then_hit_with_a_strong_etag(framework: str, backend: CacheBackend) -> None:
    client, service, _ = make(framework, backend, policy := ResponseCache())
    async with client:
        first = await client.get("/items/1")
        second = await client.get("/items/1")
        head = await client.head("/items/1")
    assert 1 == service.calls
    assert 200 == first.status_code
    assert wire(first) == wire(second)
    assert strong_etag(first.content) == first.headers["etag"]
    assert "public, no-cache" == first.headers["cache-control"]
    assert (b"", first.headers["etag"]) == (head.content, head.headers["etag"])
    assert (1, 2) == (policy.stats.misses, policy.stats.hits)


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("{etag}", 304),
        ("W/{etag}", 304),  # If-None-Match uses the weak comparison
        ('"other", {etag}', 304),
        ("*", 304),
        ('"other"', 200),
        ('"other",, ', 200),  # empty list members are ignored
    ],
)
async def test_if_none_match(framework: str, header: str, status: int) -> None:
    client, _, _ = make(framework, InMemoryCache(), ResponseCache(max_age=30))
    async with client:
        etag = (await client.get("/items/1")).headers["etag"]
        response = await client.get("/items/1", headers={"if-none-match": header.format(etag=etag)})
    assert status == response.status_code
    if status == 304:
        assert b"" == response.content
        assert etag == response.headers["etag"]
        assert "public, max-age=30" == response.headers["cache-control"]
        assert "content-type" not in response.headers


async def test_if_none_match_on_the_first_request_is_answered_after_the_miss(
    framework: str,
) -> None:
    client, service, _ = make(framework, InMemoryCache(), ResponseCache())
    async with client:
        response = await client.get("/items/1", headers={"if-none-match": "*"})
    assert (304, 1) == (response.status_code, service.calls)


@pytest.mark.parametrize("header", ["abc", '"unterminated', "W/abc", '"a" "b"', '"a\x01"'])
async def test_malformed_if_none_match_is_a_400(framework: str, header: str) -> None:
    client, service, _ = make(framework, InMemoryCache(), ResponseCache())
    async with client:
        response = await client.get("/items/1", headers={"if-none-match": header})
    assert 400 == response.status_code
    assert "application/problem+json" == response.headers["content-type"]
    assert "invalid_if_none_match" == response.json()["code"]
    assert 0 == service.calls


async def test_identities_never_share_an_answer(framework: str, backend: CacheBackend) -> None:
    client, service, _ = make(framework, backend, ResponseCache(), auth=True)
    async with client:
        ann = await client.get("/items/1", headers={"x-user": "ann"})
        bob = await client.get("/items/1", headers={"x-user": "bob"})
        ann_again = await client.get("/items/1", headers={"x-user": "ann"})
    assert ("ann", "bob", "ann") == (
        ann.json()["user"],
        bob.json()["user"],
        ann_again.json()["user"],
    )
    assert 2 == service.calls
    assert "private, no-cache" == ann.headers["cache-control"]


async def test_shared_answers_when_told_to(framework: str) -> None:
    policy = ResponseCache(shared=True, max_age=10)
    client, service, _ = make(framework, InMemoryCache(), policy, auth=True)
    async with client:
        await client.get("/items/1", headers={"x-user": "ann"})
        bob = await client.get("/items/1", headers={"x-user": "bob"})
    assert (1, "ann") == (service.calls, bob.json()["user"])
    assert "public, max-age=10" == bob.headers["cache-control"]


async def test_vary_headers_select_the_entry(framework: str, backend: CacheBackend) -> None:
    client, service, _ = make(framework, backend, ResponseCache(vary=("Accept-Language",)))
    async with client:
        en = await client.get("/items/1", headers={"accept-language": "en"})
        fr = await client.get("/items/1", headers={"accept-language": "fr"})
        en_again = await client.get("/items/1", headers={"accept-language": "en"})
        other_query = await client.get("/items/1?x=1", headers={"accept-language": "en"})
    assert ("en", "fr", "en") == (en.json()["lang"], fr.json()["lang"], en_again.json()["lang"])
    assert "accept-language" == en.headers["vary"]
    assert 3 == service.calls  # en, fr, and the other query string
    assert 200 == other_query.status_code


async def test_single_flight_on_a_miss(framework: str, backend: CacheBackend) -> None:
    policy = ResponseCache()
    client, service, _ = make(framework, backend, policy)
    service.gate = asyncio.Event()
    async with client:
        requests = [asyncio.ensure_future(client.get("/items/1")) for _ in range(10)]
        await eventually(lambda: policy.stats.coalesced >= 9)
        service.gate.set()
        answers = await asyncio.gather(*requests)
    assert 1 == service.calls
    assert {200} == {a.status_code for a in answers}
    assert 1 == len({a.content for a in answers})


async def test_single_flight_survives_a_failing_leader(framework: str) -> None:
    policy = ResponseCache()
    client, service, _ = make(framework, InMemoryCache(), policy)
    gate = service.gate = asyncio.Event()
    async with client:
        leader = asyncio.ensure_future(client.get("/items/1"))
        await eventually(lambda: service.calls >= 1)
        follower = asyncio.ensure_future(client.get("/items/1"))
        await eventually(lambda: policy.stats.coalesced >= 1)
        leader.cancel()  # the leader's client goes away
        service.gate = None
        answer = await follower
        gate.set()
    assert 200 == answer.status_code
    assert 2 == service.calls


async def test_invalidation_by_path_and_by_tag(framework: str, backend: CacheBackend) -> None:
    client, service, store = make(framework, backend, ResponseCache(tags=("item:{item_id}",)))
    async with client:
        await client.get("/items/1")
        await client.get("/items/1?page=2")
        service.version = 2
        assert 1 == (await client.get("/items/1")).json()["version"]  # still cached
        await store.invalidate("/items/1")
        assert 2 == (await client.get("/items/1")).json()["version"]
        assert 2 == (await client.get("/items/1?page=2")).json()["version"]  # every query
        service.version = 3
        await store.invalidate_tags("item:1")
        assert 3 == (await client.get("/items/1")).json()["version"]
        assert 3 == (await client.get("/items/1")).json()["version"]
    assert 5 == service.calls


async def test_invalidation_reaches_every_worker_on_redis(framework: str, redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    prefix = f"mic:test:rc:{uuid.uuid4().hex}:"
    backends = [RedisCache(redis, prefix=prefix), RedisCache(redis, prefix=prefix)]
    try:
        first, service_a, store_a = make(framework, backends[0], ResponseCache())
        second, service_b, _ = make(framework, backends[1], ResponseCache())
        async with first, second:
            await first.get("/items/1")
            assert 1 == (await second.get("/items/1")).json()["version"]  # shared entry
            service_b.version = 2
            await store_a.invalidate("/items/1")
            assert 2 == (await second.get("/items/1")).json()["version"]
        assert (1, 1) == (service_a.calls, service_b.calls)
    finally:
        await backends[0].clear()
        await redis.aclose()


async def test_an_invalidation_during_the_call_is_not_lost(framework: str) -> None:
    client, service, store = make(framework, InMemoryCache(), ResponseCache())
    service.gate = asyncio.Event()
    async with client:
        pending = asyncio.ensure_future(client.get("/items/1"))
        await eventually(lambda: service.calls >= 1)
        await store.invalidate("/items/1")  # the item changed while the handler ran
        service.gate.set()
        await pending
        service.gate = None
        await client.get("/items/1")
    assert 2 == service.calls


@pytest.mark.parametrize("kind", ["cookie", "nostore", "missing"])
async def test_uncacheable_answers_pass_through(framework: str, kind: str) -> None:
    client, service, _ = make(framework, InMemoryCache(), ResponseCache())
    async with client:
        first = await client.get(f"/special/{kind}")
        await client.get(f"/special/{kind}")
    assert 2 == service.calls
    assert "etag" not in first.headers


async def test_same_bytes_on_both_frameworks() -> None:
    answers = []
    for framework in ("fastapi", "litestar"):
        client, _, _ = make(framework, InMemoryCache(), ResponseCache(vary=("accept",)))
        async with client:
            miss = await client.get("/items/1")
            hit = await client.get("/items/1")
            not_modified = await client.get(
                "/items/1", headers={"if-none-match": miss.headers["etag"]}
            )
            answers.append([wire(miss), wire(hit), wire(not_modified)])
    assert answers[0] == answers[1]


class DownCache(InMemoryCache):
    """A backend whose server is gone."""

    def __init__(self, *, fail_set_only: bool = False) -> None:
        super().__init__()
        self.fail_set_only = fail_set_only

    async def get(self, key: str) -> Any:
        if self.fail_set_only:
            return await super().get(key)
        raise ConnectionError("redis down")

    async def set(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        if self.fail_set_only and key.startswith("mic:response:tag:"):
            await super().set(key, value, ttl=ttl)
            return
        raise ConnectionError("redis down")


@pytest.mark.parametrize("fail_set_only", [False, True])
async def test_a_store_that_is_down_serves_uncached(
    framework: str, fail_set_only: bool, caplog: pytest.LogCaptureFixture
) -> None:
    client, service, _ = make(framework, DownCache(fail_set_only=fail_set_only), ResponseCache())
    async with client:
        assert 200 == (await client.get("/items/1")).status_code
        assert 200 == (await client.get("/items/1")).status_code
    assert 2 == service.calls
    assert any(
        "serving uncached" in r.message for r in caplog.records if r.levelno == logging.WARNING
    )


async def test_tampered_entries_are_misses() -> None:
    backend = InMemoryCache()
    store = ResponseCacheStore(backend)
    await backend.set("mic:response:k", {"status": 200})  # missing fields
    assert await store.get("k") is None
    await backend.set("mic:response:k", ["not", "a", "dict"])
    assert await store.get("k") is None
    assert "ResponseCacheStore(" in repr(store)


async def item(*, item_id: str) -> dict[str, str]:
    return {"id": item_id}


def route(policy: ResponseCache, method: str = "GET") -> HttpRouteSpec:
    return HttpRouteSpec(
        method=method,
        path="/items/{item_id}",
        name="r",
        category="t",
        handler=item,
        interceptors=(policy,),
    )


class Noop(RouteInterceptor):
    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor | None:
        return None


def route_before(policy: ResponseCache) -> HttpRouteSpec:
    return HttpRouteSpec(
        method="GET",
        path="/items/{item_id}",
        name="r",
        category="t",
        handler=item,
        interceptors=(policy, Noop()),
    )


@pytest.mark.parametrize(
    ("spec", "config", "message"),
    [
        (route(ResponseCache(), "POST"), True, "only caches GET"),
        (route(ResponseCache()), False, "no ResponseCacheStore"),
        (route(ResponseCache(tags=("x:{nope}",))), True, "not path parameters"),
        (route_before(ResponseCache()), True, "must be the last"),
    ],
)
def test_build_errors(spec: HttpRouteSpec, config: bool, message: str) -> None:
    services = {ResponseCacheStore: ResponseCacheStore(InMemoryCache())} if config else {}
    with pytest.raises(RouteSpecError, match=message):
        build_openapi([spec], config=HttpRouterConfig(services=services))


def test_documented_400() -> None:
    config = HttpRouterConfig(services={ResponseCacheStore: ResponseCacheStore(InMemoryCache())})
    document = build_openapi([route(ResponseCache())], config=config)
    assert "400" in document["paths"]["/items/{item_id}"]["get"]["responses"]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"ttl": 0}, ValueError, "ttl"),
        ({"max_age": -1}, ValueError, "max_age"),
        ({"max_age": 1.5}, ValueError, "max_age"),
        ({"cache_control": "public, max-age=60"}, ValueError, "shared=True"),
        ({"cache_control": "private\r\nX: y"}, ValueError, "line break"),
        ({"vary": "accept"}, TypeError, "not one string"),
        ({"vary": ("bad header",)}, ValueError, "not a header name"),
        ({"tags": "item"}, TypeError, "not one string"),
    ],
)
def test_bad_arguments(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        ResponseCache(**options)


def test_overrides_and_repr() -> None:
    policy = ResponseCache(shared=True, cache_control="public, max-age=5, immutable")
    assert "public, max-age=5, immutable" == policy._control(private=False)
    assert "ResponseCache(ttl=60.0, shared=True, vary=())" == repr(policy)
    with pytest.raises(ValueError, match="prefix"):
        ResponseCacheStore(InMemoryCache(), prefix="")


async def test_a_waiter_that_leaves_does_not_disturb_the_leader(framework: str) -> None:
    policy = ResponseCache()
    client, service, _ = make(framework, InMemoryCache(), policy)
    service.gate = asyncio.Event()
    async with client:
        leader = asyncio.ensure_future(client.get("/items/1"))
        await eventually(lambda: service.calls >= 1)
        follower = asyncio.ensure_future(client.get("/items/1"))
        await eventually(lambda: policy.stats.coalesced >= 1)
        follower.cancel("the waiter leaves")
        with pytest.raises(asyncio.CancelledError, match=r"^the waiter leaves$"):
            await follower
        service.gate.set()
        assert 200 == (await leader).status_code
    assert 1 == service.calls


class TagsDown(InMemoryCache):
    """Entries readable, tag versions not (a partial outage)."""

    async def get(self, key: str) -> Any:
        if ":tag:" in key:
            raise ConnectionError("redis down")
        return await super().get(key)


async def test_unreadable_tag_versions_serve_uncached(
    framework: str, caplog: pytest.LogCaptureFixture
) -> None:
    client, service, _ = make(framework, TagsDown(), ResponseCache())
    async with client:
        first = await client.get("/items/1")
        await client.get("/items/1")
    assert (200, 2) == (first.status_code, service.calls)
    assert "etag" in first.headers  # the answer still gets its validator
    assert any("tag read" in r.message for r in caplog.records)

"""Route policies: a cached GET against the same GET uncached, and a route behind RBAC
authorization against the same route without it; plus the cost of token revocation.

Routes are `CompiledRoute` ASGI apps driven in process (what both adapters run), so the
figures measure the policies, not a framework. Goals: cached >= 5x uncached; authorized
<= 1.1x the time of unauthorized. Run: ``.venv/bin/python -m benchmarks.bench_policies``
(wall clock, with the Redis blacklist when Redis is up) or ``python -m benchmarks
--callgrind bench_policies`` (instructions per operation, in process only).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._callgrind import Comparison, Goal
from mic.auth import (
    CustomAuth,
    InMemoryRevokeBlacklist,
    ServiceAuthSigner,
    ServiceAuthVerifier,
    ServiceKey,
)
from mic.authz import AuthorizationEngine, Authorize, RbacEngine, Role
from mic.cache import InMemoryCache
from mic.contracts import StrictSchema
from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Identity,
    Interceptor,
    RouteInterceptor,
    compile_routes,
)
from mic.response_cache import ResponseCache, ResponseCacheStore

ROUNDS = 5
BATCH = 2000
CACHE_GOAL = 5.0
AUTHZ_GOAL = 1 / 1.1


class Item(StrictSchema):
    id: int
    name: str
    price: float
    tags: list[str]


async def list_items(*, category: str) -> list[Item]:
    # A typical read: a page of 50 rows turned into validated models and serialized.
    return [Item(id=i, name=f"{category}-{i}", price=i * 1.5, tags=["a", "b"]) for i in range(50)]


async def get_item(*, item_id: int) -> dict[str, Any]:
    return {"id": item_id, "name": "widget"}


ALICE = Identity("alice", "custom", claims={"roles": ["viewer"]})


async def as_alice(context: HttpRequestContext) -> Identity:
    return ALICE


RBAC = RbacEngine(
    {
        "viewer": Role(["item:read"]),
        "editor": Role(["item:write"], inherits=["viewer"]),
        "admin": Role(["*"], inherits=["editor"]),
    },
)


class PassThrough(RouteInterceptor):
    """The floor: an interceptor that only calls the next one (what any policy costs)."""

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        async def pass_through(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            return await call_next(context)

        return pass_through


def _routes() -> dict[str, Any]:
    auth = CustomAuth(as_alice)
    store = ResponseCacheStore(InMemoryCache())
    config = HttpRouterConfig(services={ResponseCacheStore: store, AuthorizationEngine: RBAC})

    def route(name: str, path: str, handler: Any, *policies: Any) -> Any:
        spec = HttpRouteSpec(
            method="GET",
            path=path,
            name=name,
            category="b",
            handler=handler,
            auth=auth,
            interceptors=tuple(policies),
        )
        return compile_routes([spec], config)[0]

    return {
        "uncached": route("u", "/items", list_items),
        "cached": route("c", "/items", list_items, ResponseCache()),
        "no authz": route("n", "/items/{item_id}", get_item),
        "authz": route("a", "/items/{item_id}", get_item, Authorize("read", "item:{item_id}")),
        "noop": route("o", "/items/{item_id}", get_item, PassThrough()),
        "list authz": route("la", "/items", list_items, Authorize("read", "item")),
    }


def _scope(path: str, query: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "headers": [(b"host", b"bench")],
        "path_params": {},
        "client": ("127.0.0.1", 1),
    }


CASES = {
    "uncached": ("/items", b"category=tools", {"category": "tools"}),
    "cached": ("/items", b"category=tools", {"category": "tools"}),
    "no authz": ("/items/7", b"", {"item_id": "7"}),
    "authz": ("/items/7", b"", {"item_id": "7"}),
    "noop": ("/items/7", b"", {"item_id": "7"}),
    "list authz": ("/items", b"category=tools", {"category": "tools"}),
}


def _request(app: Any, case: str) -> Callable[[], Awaitable[None]]:
    """One GET of `case` through `app`; anything but a 200 fails the benchmark."""
    path, query, params = CASES[case]
    scope = _scope(path, query)
    scope["path_params"] = params

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise AssertionError(f"{case}: status {message['status']}")

    async def request() -> None:
        await app(scope, receive, send)

    return request


def _runner(app: Any, case: str) -> Callable[[int], Awaitable[None]]:
    request = _request(app, case)

    async def run(n: int) -> None:
        for _ in range(n):
            await request()

    return run


async def _rates() -> dict[str, float]:
    apps = _routes()
    runners = {case: _runner(apps[case], case) for case in CASES}
    for run in runners.values():
        await run(200)  # warm-up (and the cache's one miss)
    best: dict[str, float] = {}
    for _ in range(ROUNDS):  # interleaved rounds, best of each: noise hits one, not all
        for case, run in runners.items():
            started = time.perf_counter()
            await run(BATCH)
            best[case] = max(best.get(case, 0.0), BATCH / (time.perf_counter() - started))
    return best


async def _revocation_rates(redis_url: str | None) -> dict[str, float]:
    key = ServiceKey.generate("k1", "EdDSA")
    token = ServiceAuthSigner(issuer="orders", keys=key).sign("billing")
    verifiers = {
        "no revocation": ServiceAuthVerifier(audience="billing", issuers=["orders"], keys=key),
        "memory blacklist": ServiceAuthVerifier(
            audience="billing", issuers=["orders"], keys=key, revocations=InMemoryRevokeBlacklist()
        ),
    }
    client = None
    if redis_url is not None:
        from redis.asyncio import Redis

        from mic.auth import RedisRevokeBlacklist

        client = Redis.from_url(redis_url)
        blacklist = RedisRevokeBlacklist(client, prefix=f"mic:bench:{uuid.uuid4().hex}:")
        verifiers["redis blacklist"] = ServiceAuthVerifier(
            audience="billing", issuers=["orders"], keys=key, revocations=blacklist
        )
    best: dict[str, float] = {}
    for _ in range(3):
        for name, verifier in verifiers.items():
            started = time.perf_counter()
            for _ in range(500):
                await verifier.verify(token)
            best[name] = max(best.get(name, 0.0), 500 / (time.perf_counter() - started))
    if client is not None:
        await client.aclose()
    return best


def _redis_url() -> str | None:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return "redis://127.0.0.1:6379/0"
    except OSError:
        return None


def main() -> None:
    """Print ops/s of each case and the two ratios against their goals."""
    best = asyncio.run(_rates())
    for case, rate in best.items():
        print(f"{case:9} {rate:>10,.0f} req/s  ({1e6 / rate:6.1f} us/req)")
    speedup = best["cached"] / best["uncached"]
    print(f"cached GET vs uncached: {speedup:.1f}x faster (goal >= {CACHE_GOAL:g}x)")
    cost = best["no authz"] / best["authz"]
    print(f"authorized (in-memory RBAC) vs not: {cost:.3f}x the time (goal <= 1.1x)")
    floor = best["no authz"] / best["noop"]
    print(f"  floor, a pass-through interceptor vs none: {floor:.3f}x the time")
    listed = best["uncached"] / best["list authz"]
    print(f"  on the 50-item list route: authorized vs not {listed:.3f}x the time")
    rates = asyncio.run(_revocation_rates(_redis_url()))
    base = 1e6 / rates["no revocation"]
    for name, rate in rates.items():
        print(f"verify EdDSA, {name:16} {rate:>8,.0f} ops/s  (+{1e6 / rate - base:6.1f} us)")


def _verifies() -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]:
    """Verify one token with the in-memory blacklist, and without revocation.

    Both sides check the same token with the same key: an EdDSA verify's instruction count
    moves by a few percent from one key and signature to another.
    """
    key = ServiceKey.generate("k1", "EdDSA")
    token = ServiceAuthSigner(issuer="orders", keys=key).sign("billing")
    checked = ServiceAuthVerifier(
        audience="billing", issuers=["orders"], keys=key, revocations=InMemoryRevokeBlacklist()
    )
    unchecked = ServiceAuthVerifier(audience="billing", issuers=["orders"], keys=key)

    async def with_blacklist() -> Any:
        return await checked.verify(token)

    async def without() -> Any:
        return await unchecked.verify(token)

    return with_blacklist, without


async def callgrind_cases() -> list[Comparison]:
    """One request per operation through each route, in process; and one token verify.

    The cached side's first warm-up request is its one miss: every measured request is a hit.
    The Redis blacklist is left to the wall-clock run (a network round trip).
    """
    apps = _routes()
    request = {case: _request(apps[case], case) for case in CASES}
    with_blacklist, without = _verifies()
    return [
        Comparison(
            "cached GET (ResponseCache, in memory) vs the same GET uncached",
            request["cached"],
            request["uncached"],
            Goal(CACHE_GOAL),
            ours_label="cached",
            reference_label="uncached",
        ),
        Comparison(
            "RBAC-authorized GET vs the same GET without authz",
            request["authz"],
            request["no authz"],
            Goal(AUTHZ_GOAL, "cost <= 1.1x (ratio >= 0.91x)"),
            ours_label="authorized",
            reference_label="unauthorized",
        ),
        Comparison(
            "floor: a pass-through interceptor vs none",
            request["noop"],
            request["no authz"],
            ours_label="pass-through",
            reference_label="none",
        ),
        Comparison(
            "RBAC-authorized 50-item list vs the same list without authz",
            request["list authz"],
            request["uncached"],
            ours_label="authorized",
            reference_label="unauthorized",
        ),
        Comparison(
            "verify EdDSA, in-memory revocation blacklist vs none",
            with_blacklist,
            without,
            ours_label="blacklist",
            reference_label="none",
        ),
    ]


if __name__ == "__main__":
    main()

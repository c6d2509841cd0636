"""`Idempotency` on real routes, on both frameworks (the `framework` fixture)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping

import httpx
import pytest
from pydantic import BaseModel
from redis.asyncio import Redis

from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpResponseSpec,
    HttpRouterConfig,
    HttpRouteSpec,
    Identity,
    Interceptor,
    RouteInterceptor,
    RouteSpecError,
)
from mic.idempotency import (
    Idempotency,
    IdempotencyRecord,
    IdempotencyStore,
    InMemoryIdempotencyStore,
    RedisIdempotencyStore,
    StoredResponse,
)
from mic.model import NotFoundError, TransientError
from tests.support import build_app, client_for, eventually, make_client, served_openapi, wire

from .conftest import delete_prefix


class NewOrder(BaseModel):
    item: str
    quantity: int = 1


class Orders:
    """A handler that counts its calls and can be held in flight until `release` is set."""

    def __init__(self, *, held: bool = False) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        if not held:
            self.release.set()

    async def create(self, *, payload: NewOrder) -> HttpResponseSpec:
        self.calls += 1
        await self.release.wait()
        if payload.item == "missing":
            raise NotFoundError("item_not_found", "no such item")
        return HttpResponseSpec(
            status_code=201,
            body={"order": self.calls, "item": payload.item},
            headers={"Location": f"/orders/{self.calls}"},
        )


class HeaderIdentity(RouteInterceptor):
    """Test auth: the caller is whoever the ``x-user`` header names."""

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        async def intercept(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            user = context.headers.get("x-user")
            if user is not None:
                context.identity = Identity(subject=user, kind="custom")
            return await call_next(context)

        return intercept


def route(orders: Orders, policy: Idempotency, *, auth: bool = False) -> HttpRouteSpec:
    return HttpRouteSpec(
        method="POST",
        path="/orders",
        name="orders.create",
        category="orders",
        handler=orders.create,
        idempotency=policy,
        auth=HeaderIdentity() if auth else None,
    )


class Watched:
    """A store mixin counting the claims that found the key in flight (a duplicate)."""

    found_in_flight = 0

    async def begin(
        self, key: str, fingerprint: str, owner: str, *, lease: float
    ) -> IdempotencyRecord | None:
        record = await super().begin(key, fingerprint, owner, lease=lease)  # type: ignore[misc]
        if record is not None and record.response is None:
            self.found_in_flight += 1
        return record  # type: ignore[no-any-return]


class WatchedStore(Watched, InMemoryIdempotencyStore):
    """The in-memory store, watched."""


class WatchedRedisStore(Watched, RedisIdempotencyStore):
    """The Redis store, watched."""


def client(
    framework: str,
    orders: Orders,
    policy: Idempotency,
    store: IdempotencyStore | None = None,
    **kw: object,
) -> httpx.AsyncClient:
    store = InMemoryIdempotencyStore() if store is None else store
    config = HttpRouterConfig(services={IdempotencyStore: store})
    return make_client(framework, [route(orders, policy, **kw)], config)  # type: ignore[arg-type]


def post(http: httpx.AsyncClient, key: str | None, body: Mapping[str, object], **headers: str):  # type: ignore[no-untyped-def]
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post("/orders", json=body, headers=headers)


async def test_completed_duplicate_replays_status_headers_and_body(framework: str) -> None:
    orders = Orders()
    async with client(framework, orders, Idempotency()) as http:
        first = await post(http, "k1", {"item": "tea"})
        second = await post(http, "k1", {"item": "tea"})

    assert (first.status_code, first.json()) == (201, {"order": 1, "item": "tea"})
    assert orders.calls == 1
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    replayed = [(k, v) for k, v in wire(second)[1] if k != "idempotent-replayed"]
    assert (wire(first)[0], wire(first)[1], wire(first)[2]) == (
        second.status_code,
        replayed,
        second.content,
    )


async def test_concurrent_duplicates_without_wait_get_409(framework: str) -> None:
    """The first request is held in flight until the seven duplicates were answered."""
    orders = Orders(held=True)
    async with client(framework, orders, Idempotency(wait=0)) as http:
        sent = [asyncio.create_task(post(http, "k1", {"item": "tea"})) for _ in range(8)]
        await eventually(lambda: sum(task.done() for task in sent) == 7)
        orders.release.set()
        responses = await asyncio.gather(*sent)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 7
    assert orders.calls == 1
    conflict = next(r for r in responses if r.status_code == 409)
    assert conflict.json()["code"] == "idempotency_request_in_progress"
    assert conflict.headers["retry-after"] == "1"


async def test_concurrent_duplicates_with_wait_all_get_the_answer(framework: str) -> None:
    """The first request is held in flight until the seven duplicates found it there."""
    orders, store = Orders(held=True), WatchedStore()
    policy = Idempotency(wait=3, poll_interval=0.01)
    async with client(framework, orders, policy, store) as http:
        sent = [asyncio.create_task(post(http, "k1", {"item": "tea"})) for _ in range(8)]
        await eventually(lambda: store.found_in_flight >= 7)
        orders.release.set()
        responses = await asyncio.gather(*sent)

    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.content for r in responses}) == 1
    assert orders.calls == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 7


async def test_same_key_with_another_body_is_422(framework: str) -> None:
    orders = Orders()
    async with client(framework, orders, Idempotency()) as http:
        await post(http, "k1", {"item": "tea"})
        other = await post(http, "k1", {"item": "coffee"})

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert orders.calls == 1


async def test_keys_are_scoped_to_the_caller(framework: str) -> None:
    orders = Orders()
    async with client(framework, orders, Idempotency(), auth=True) as http:
        alice = await post(http, "k1", {"item": "tea"}, **{"x-user": "alice"})
        bob = await post(http, "k1", {"item": "coffee"}, **{"x-user": "bob"})

    assert [alice.status_code, bob.status_code] == [201, 201]
    assert orders.calls == 2


async def test_without_a_key_every_request_runs(framework: str) -> None:
    orders = Orders()
    async with client(framework, orders, Idempotency()) as http:
        await post(http, None, {"item": "tea"})
        await post(http, None, {"item": "tea"})

    assert orders.calls == 2


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, "idempotency_key_missing"),
        ("", "invalid_idempotency_key"),
        ("x" * 256, "invalid_idempotency_key"),
        ("caf\u00e9", "invalid_idempotency_key"),
    ],
)
async def test_missing_or_invalid_key_is_400(framework: str, key: str | None, code: str) -> None:
    orders = Orders()
    async with client(framework, orders, Idempotency(required=True)) as http:
        headers = {} if key is None else {"Idempotency-Key": key.encode()}
        response = await http.post("/orders", json={"item": "tea"}, headers=headers)

    assert (400, code) == (response.status_code, response.json()["code"])
    assert orders.calls == 0


async def test_error_answers_are_not_stored(framework: str) -> None:
    orders = Orders()
    async with client(framework, orders, Idempotency()) as http:
        first = await post(http, "k1", {"item": "missing"})
        invalid = await post(http, "k2", {"item": "tea", "quantity": "many"})
        retried = await post(http, "k1", {"item": "missing"})
        fixed = await post(http, "k2", {"item": "tea", "quantity": 2})

    assert [r.status_code for r in (first, invalid, retried, fixed)] == [404, 422, 404, 201]
    assert orders.calls == 3


async def test_handler_cancellation_releases_the_key() -> None:
    """A request that never completes (client gone) frees its key for the retry."""
    policy = Idempotency(store=InMemoryIdempotencyStore())
    bound = policy.bind(route(Orders(), policy), HttpRouterConfig())
    answered: list[str] = []

    running = asyncio.Event()

    async def never(context: HttpRequestContext) -> HttpResponse:
        running.set()
        await asyncio.Event().wait()  # the client goes away first (cancelled below)
        return HttpResponse(200)

    async def answer(context: HttpRequestContext) -> HttpResponse:
        answered.append("retry")
        return HttpResponse(200)

    def request() -> HttpRequestContext:
        return HttpRequestContext(
            method="POST", path="/orders", headers={"idempotency-key": "k"}, body=b"{}"
        )

    task = asyncio.create_task(bound(request(), never))
    await running.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError, match=r"^$"):
        await task
    retried = await bound(request(), answer)

    assert (retried.status_code, answered) == (200, ["retry"])


def test_bind_fails_closed_without_a_store(framework: str) -> None:
    with pytest.raises(RouteSpecError, match=r"'orders\.create': Idempotency needs a store"):
        make_client(framework, [route(Orders(), Idempotency())])


def test_bind_refuses_safe_only_routes() -> None:
    spec = HttpRouteSpec(
        method="GET",
        path="/orders",
        name="orders.list",
        category="orders",
        handler=Orders().create,
        idempotency=Idempotency(),
    )
    with pytest.raises(RouteSpecError, match="only makes sense on unsafe methods"):
        make_client(
            "fastapi",
            [spec],
            HttpRouterConfig(services={IdempotencyStore: InMemoryIdempotencyStore()}),
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ttl": 0}, "must be > 0"),
        ({"lease": -1}, "must be > 0"),
        ({"poll_interval": 0}, "must be > 0"),
        ({"wait": -1}, "wait must be >= 0"),
        ({"header": ""}, "header must not be empty"),
    ],
)
def test_bad_policy_values_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Idempotency(**kwargs)  # type: ignore[arg-type]


def test_openapi_documents_400_409_and_422(framework: str) -> None:
    store = InMemoryIdempotencyStore()
    config = HttpRouterConfig(services={IdempotencyStore: store})
    app = build_app(framework, [route(Orders(), Idempotency())], config)
    document = served_openapi(app)

    responses = document["paths"]["/orders"]["post"]["responses"]
    assert {"400", "409", "422"} <= set(responses)


@pytest.mark.redis
async def test_concurrent_duplicates_on_real_redis(framework: str, redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    prefix = f"mic:test:{uuid.uuid4().hex}:"
    store = WatchedRedisStore(redis, prefix=prefix)
    orders = Orders(held=True)
    policy = Idempotency(store=store, wait=3, poll_interval=0.01)
    try:
        async with make_client(framework, [route(orders, policy)]) as http:
            sent = [asyncio.create_task(post(http, "k1", {"item": "tea"})) for _ in range(8)]
            # Held in flight until the seven duplicates found the claim on the server.
            await eventually(lambda: store.found_in_flight >= 7)
            orders.release.set()
            responses = await asyncio.gather(*sent)
            mismatch = await post(http, "k1", {"item": "coffee"})
        assert [r.status_code for r in responses] == [201] * 8
        assert orders.calls == 1
        assert mismatch.status_code == 422
        assert len([k async for k in redis.scan_iter(match=f"{prefix}*")]) == 1
    finally:
        await delete_prefix(redis, prefix)
        await redis.aclose()


class FlakyStore(InMemoryIdempotencyStore):
    """An in-memory store whose claims or records fail like a store that went down."""

    def __init__(self, *, fail_begin: bool = False, fail_complete: bool = False) -> None:
        super().__init__()
        self.fail_begin = fail_begin
        self.fail_complete = fail_complete

    async def begin(self, key: str, fingerprint: str, owner: str, *, lease: float):  # type: ignore[no-untyped-def]
        if self.fail_begin:
            raise ConnectionError("store down")
        return await super().begin(key, fingerprint, owner, lease=lease)

    async def complete(self, key: str, owner: str, response: StoredResponse, *, ttl: float) -> bool:
        if self.fail_complete:
            raise ConnectionError("store down")
        return await super().complete(key, owner, response, ttl=ttl)


async def test_store_down_before_the_handler_is_503_and_runs_nothing(framework: str) -> None:
    orders = Orders()
    policy = Idempotency(store=FlakyStore(fail_begin=True))
    async with make_client(framework, [route(orders, policy)]) as http:
        response = await post(http, "k1", {"item": "tea"})

    assert (503, "idempotency_store_unavailable") == (response.status_code, response.json()["code"])
    assert response.headers["retry-after"] == "1"
    assert orders.calls == 0


async def test_a_domain_error_from_the_store_is_answered_as_it_is(framework: str) -> None:
    class Throttled(InMemoryIdempotencyStore):
        async def begin(self, key: str, fingerprint: str, owner: str, *, lease: float):  # type: ignore[no-untyped-def]
            raise TransientError("store_throttled", "slow down", retry_after=7)

    orders = Orders()
    policy = Idempotency(store=Throttled())
    async with make_client(framework, [route(orders, policy)]) as http:
        response = await post(http, "k1", {"item": "tea"})

    assert (503, "store_throttled", "7") == (
        response.status_code,
        response.json()["code"],
        response.headers["retry-after"],
    )
    assert orders.calls == 0


async def test_store_down_after_the_handler_still_returns_its_answer(framework: str) -> None:
    orders = Orders()
    policy = Idempotency(store=FlakyStore(fail_complete=True))
    async with make_client(framework, [route(orders, policy)]) as http:
        response = await post(http, "k1", {"item": "tea"})

    assert (201, {"order": 1, "item": "tea"}) == (response.status_code, response.json())


async def test_handler_that_raises_releases_the_key(framework: str) -> None:
    """An unexpected exception is a 500, never stored: the retry runs the handler again."""
    calls: list[int] = []

    async def explode(*, payload: NewOrder) -> dict[str, str]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("bug")
        return {"item": payload.item}

    spec = HttpRouteSpec(
        method="POST",
        path="/orders",
        name="orders.create",
        category="orders",
        handler=explode,
        idempotency=Idempotency(store=InMemoryIdempotencyStore()),
    )
    async with make_client(framework, [spec]) as http:
        first = await post(http, "k1", {"item": "tea"})
        retry = await post(http, "k1", {"item": "tea"})
        replay = await post(http, "k1", {"item": "tea"})

    assert [first.status_code, retry.status_code, replay.status_code] == [500, 200, 200]
    assert (len(calls), replay.headers["idempotent-replayed"]) == (2, "true")


async def test_completed_keys_expire(framework: str) -> None:
    now = [0.0]
    orders = Orders()
    policy = Idempotency(store=InMemoryIdempotencyStore(clock=lambda: now[0]), ttl=60)
    async with make_client(framework, [route(orders, policy)]) as http:
        await post(http, "k1", {"item": "tea"})
        now[0] = 59.9
        replayed = await post(http, "k1", {"item": "tea"})
        now[0] = 60.0
        rerun = await post(http, "k1", {"item": "coffee"})

    assert replayed.headers["idempotent-replayed"] == "true"
    assert (rerun.status_code, rerun.json()["item"], orders.calls) == (201, "coffee", 2)


async def test_client_gone_mid_body_claims_nothing(framework: str) -> None:
    """A client that disconnects while sending its body leaves the key free for its retry."""
    orders = Orders()
    store = InMemoryIdempotencyStore()
    app = build_app(
        framework,
        [route(orders, Idempotency())],
        HttpRouterConfig(services={IdempotencyStore: store}),
    )
    messages = [
        {"type": "http.request", "body": b'{"item":', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/orders",
        "raw_path": b"/orders",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"idempotency-key", b"k1"),
        ],
    }
    await app(scope, receive, send)
    async with client_for(app) as http:
        retry = await post(http, "k1", {"item": "tea"})

    assert (retry.status_code, orders.calls) == (201, 1)
    assert "idempotent-replayed" not in retry.headers


async def test_cancellation_while_recording_still_stores_the_answer() -> None:
    """Cancelled after the handler ran: the answer is still stored, so a retry replays it."""
    gate = asyncio.Event()

    class SlowStore(InMemoryIdempotencyStore):
        async def complete(
            self, key: str, owner: str, response: StoredResponse, *, ttl: float
        ) -> bool:
            await gate.wait()
            return await super().complete(key, owner, response, ttl=ttl)

    store = SlowStore()
    policy = Idempotency(store=store)
    bound = policy.bind(route(Orders(), policy), HttpRouterConfig())
    handled: list[str] = []

    async def handler(context: HttpRequestContext) -> HttpResponse:
        handled.append("ran")
        return HttpResponse(201, [(b"x-order", b"1")], b"created")

    def request() -> HttpRequestContext:
        return HttpRequestContext(
            method="POST", path="/orders", headers={"idempotency-key": "k"}, body=b"{}"
        )

    task = asyncio.create_task(bound(request(), handler))
    await eventually(lambda: handled)
    task.cancel()
    gate.set()
    with pytest.raises(asyncio.CancelledError, match=r"^$"):
        await task
    # The shielded write finishes in the background: no record yet answers 409.
    replays: list[HttpResponse] = []

    async def replayed() -> bool:
        replays.append(await bound(request(), handler))
        return replays[-1].status_code != 409

    await eventually(replayed)
    replay = replays[-1]

    assert (replay.status_code, replay.body, handled) == (201, b"created", ["ran"])
    assert replay.header("idempotent-replayed") == "true"


def test_nan_wait_is_rejected() -> None:
    with pytest.raises(ValueError, match="wait must be >= 0"):
        Idempotency(wait=float("nan"))


def test_an_empty_store_given_on_the_policy_is_used() -> None:
    store = InMemoryIdempotencyStore()
    policy = Idempotency(store=store)

    assert policy.bind(route(Orders(), policy), HttpRouterConfig()) is not None

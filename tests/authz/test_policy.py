"""`Authorize` on HTTP routes: the same answers on both frameworks, fail closed, documented."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from mic.auth import CustomAuth
from mic.authz import (
    AuthorizationEngine,
    AuthorizationEngineError,
    Authorize,
    CachedAuthorizationEngine,
    RbacEngine,
    Resource,
    Role,
)
from mic.http import (
    HttpRequestContext,
    HttpRouterConfig,
    HttpRouteSpec,
    Identity,
    Interceptor,
    Public,
    RouteInterceptor,
    RouteSpecError,
    build_openapi,
)
from tests.support import make_client, wire

RBAC = RbacEngine(
    {"viewer": Role(["item:read"]), "editor": Role(["item:write"], inherits=["viewer"])},
    assignments={"alice": ["editor"], "bob": ["viewer"]},
)


async def from_header(context: HttpRequestContext) -> Identity | None:
    user = context.headers.get("x-user")
    return None if user is None else Identity(user, "custom", claims={"roles": []})


AUTH = CustomAuth(from_header)


async def get_item(*, item_id: str) -> dict[str, str]:
    return {"id": item_id}


def routes(*policies: Authorize) -> list[HttpRouteSpec]:
    return [
        HttpRouteSpec(
            method="GET",
            path="/items/{item_id}",
            name=f"r{i}",
            category="t",
            handler=get_item,
            auth=AUTH,
            interceptors=(policy,),
        )
        for i, policy in enumerate(policies)
    ][:1]


def config(engine: AuthorizationEngine = RBAC) -> HttpRouterConfig:
    return HttpRouterConfig(services={AuthorizationEngine: engine})


@pytest.mark.parametrize(
    ("user", "action", "status"),
    [("alice", "write", 200), ("bob", "read", 200), ("bob", "write", 403), ("eve", "read", 403)],
)
async def test_rbac_decisions(framework: str, user: str, action: str, status: int) -> None:
    policy = Authorize(action, "item:{item_id}")
    async with make_client(framework, routes(policy), config()) as client:
        response = await client.get("/items/7", headers={"x-user": user})
    assert status == response.status_code
    if status == 403:
        assert {
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
            "detail": "You are not allowed to perform this action",
            "code": "forbidden",
            "details": {},
        } == response.json()  # no role, permission or engine named
        assert 1 == policy.stats.denied
    else:
        assert {"id": "7"} == response.json()
        assert 1 == policy.stats.allowed


async def test_unauthenticated_is_401_before_authorization(framework: str) -> None:
    policy = Authorize("read", "item")
    async with make_client(framework, routes(policy), config()) as client:
        response = await client.get("/items/7")
    assert 401 == response.status_code
    assert 0 == policy.stats.denied + policy.stats.allowed


class BrokenEngine(AuthorizationEngine):
    def __init__(self, hang: bool = False) -> None:
        self.hang = hang
        self.calls = 0

    async def check(self, subject: Identity, action: str, resource: Resource) -> bool:
        self.calls += 1
        if self.hang:
            await asyncio.Event().wait()  # never set: only the policy timeout ends this
        raise AuthorizationEngineError("connection refused to 10.0.0.5")


@pytest.mark.parametrize("engine", [BrokenEngine(), BrokenEngine(hang=True)])
async def test_engine_down_or_slow_fails_closed_with_503(
    framework: str, engine: BrokenEngine, caplog: pytest.LogCaptureFixture
) -> None:
    policy = Authorize("read", "item", timeout=0.05)
    async with make_client(framework, routes(policy), config(engine)) as client:
        response = await client.get("/items/7", headers={"x-user": "alice"})
    assert 503 == response.status_code
    assert "1" == response.headers["retry-after"]
    body = response.json()
    assert "authorization_unavailable" == body["code"]
    assert "10.0.0.5" not in response.text
    assert 1 == policy.stats.errors
    assert any(
        "authorization engine" in r.message for r in caplog.records if r.levelno == logging.WARNING
    )


async def test_same_bytes_on_both_frameworks() -> None:
    answers = []
    for framework in ("fastapi", "litestar"):
        async with make_client(framework, routes(Authorize("write", "item")), config()) as client:
            answers.append(wire(await client.get("/items/1", headers={"x-user": "bob"})))
    assert answers[0] == answers[1]


async def test_callable_resource_and_explicit_engine(framework: str) -> None:
    seen: list[Resource] = []

    class Recording(AuthorizationEngine):
        async def check(self, subject: Identity, action: str, resource: Resource) -> bool:
            seen.append(resource)
            return subject.subject == "alice"

    policy = Authorize(
        "read",
        lambda ctx: Resource("item", ctx.path_params["item_id"], {"q": ctx.query_params.get("q")}),
        engine=Recording(),
    )
    async with make_client(framework, routes(policy), HttpRouterConfig()) as client:
        assert 200 == (await client.get("/items/9?q=x", headers={"x-user": "alice"})).status_code
        assert 403 == (await client.get("/items/9", headers={"x-user": "bob"})).status_code
    assert Resource("item", "9", {"q": "x"}) == seen[0]
    assert (1, 1) == (policy.stats.allowed, policy.stats.denied)


async def test_cached_engine_reuses_decisions_for_new_tokens() -> None:
    now = [0.0]

    class Counting(AuthorizationEngine):
        calls = 0

        async def check(self, subject: Identity, action: str, resource: Resource) -> bool:
            Counting.calls += 1
            return True

    engine = CachedAuthorizationEngine(Counting(), ttl=5, max_entries=2, clock=lambda: now[0])
    first = Identity("a", "service", claims={"jti": "1", "exp": 10})
    second = Identity("a", "service", claims={"jti": "2", "exp": 20})
    assert await engine.check(first, "read", Resource("item"))
    assert await engine.check(second, "read", Resource("item"))  # same caller, new token
    assert (1, 1, 1) == (Counting.calls, engine.hits, engine.misses)
    now[0] = 5.0  # expired
    assert await engine.check(first, "read", Resource("item"))
    assert 2 == Counting.calls
    many = await engine.check_many(first, "read", [Resource("item"), Resource("x"), Resource("y")])
    assert [True, True, True] == many
    assert 2 == len(engine._decisions)  # LRU bound
    engine.clear()
    assert 0 == len(engine._decisions)
    assert repr(engine).startswith("CachedAuthorizationEngine(")


async def test_cached_engine_never_caches_errors() -> None:
    broken = BrokenEngine()
    engine = CachedAuthorizationEngine(broken)
    for _ in range(2):
        with pytest.raises(AuthorizationEngineError, match="refused"):
            await engine.check(Identity("a", "x"), "read", Resource("item"))
    assert 2 == broken.calls


def test_cached_engine_key_survives_odd_claims() -> None:
    odd: dict[str, object] = {}
    odd["self"] = odd  # circular: not JSON
    from mic.authz._engine import _cache_key

    assert _cache_key(Identity("a", "x", claims={"c": odd}), "r", Resource("t"))


@pytest.mark.parametrize(
    ("options", "message"),
    [({"ttl": 0}, "ttl must be"), ({"max_entries": 0}, "max_entries")],
)
def test_cached_engine_bad_arguments(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CachedAuthorizationEngine(RBAC, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("route_auth", "cfg", "resource", "message"),
    [
        (AUTH, HttpRouterConfig(), "item", "no AuthorizationEngine"),
        (None, config(), "item", "no auth policy"),
        (Public(), config(), "item", "no auth policy"),
        (AUTH, config(), "item:{nope}", "not path parameters"),
        (AUTH, config(), ":{item_id}", "needs a type"),
    ],
)
def test_build_errors(
    route_auth: CustomAuth | None, cfg: HttpRouterConfig, resource: str, message: str
) -> None:
    route = HttpRouteSpec(
        method="GET",
        path="/items/{item_id}",
        name="r",
        category="t",
        handler=get_item,
        auth=route_auth,
        interceptors=(Authorize("read", resource),),
    )
    with pytest.raises(RouteSpecError, match=message):
        build_openapi([route], config=cfg)


def test_default_auth_counts_as_authentication() -> None:
    route = HttpRouteSpec(
        method="GET",
        path="/items/{item_id}",
        name="r",
        category="t",
        handler=get_item,
        interceptors=(Authorize("read", "item"),),
    )
    document = build_openapi(
        [route], config=HttpRouterConfig(services={AuthorizationEngine: RBAC}, default_auth=AUTH)
    )
    responses = document["paths"]["/items/{item_id}"]["get"]["responses"]
    assert {"401", "403", "503"} <= set(responses)
    assert "Authorize('read', 'item')" == repr(Authorize("read", "item"))


@pytest.mark.parametrize(
    ("args", "message"),
    [(("", "item"), "non-empty"), (("read", "item", 0), "timeout")],
)
def test_bad_policy_arguments(args: Sequence[object], message: str) -> None:
    action, resource, *rest = args
    with pytest.raises(ValueError, match=message):
        Authorize(action, resource, timeout=rest[0] if rest else 2.0)  # type: ignore[arg-type]


def test_bad_resources() -> None:
    with pytest.raises(ValueError, match="non-empty type"):
        Resource("")
    with pytest.raises(ValueError, match="resource id"):
        Resource("item", "")


class SetsNoIdentity(RouteInterceptor):
    """An auth policy that forgot to set the identity: authorization must still refuse."""

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor | None:
        return None


@pytest.mark.parametrize("engine", [RBAC, BrokenEngine()])
async def test_no_identity_is_401(framework: str, engine: AuthorizationEngine) -> None:
    route = HttpRouteSpec(
        method="GET",
        path="/items/{item_id}",
        name="r",
        category="t",
        handler=get_item,
        auth=SetsNoIdentity(),
        interceptors=(Authorize("read", "item"),),
    )
    async with make_client(framework, [route], config(engine)) as client:
        assert 401 == (await client.get("/items/1")).status_code


def claims_identity(claim: object) -> CustomAuth:
    async def check(context: HttpRequestContext) -> Identity:
        return Identity("zed", "custom", claims={"roles": claim})

    return CustomAuth(check)


@pytest.mark.parametrize(
    ("claim", "status"),
    [(["viewer"], 200), (("editor",), 200), ("viewer", 403), ([{"x": 1}], 403), ([7], 403)],
)
async def test_rbac_roles_from_hostile_claims(framework: str, claim: object, status: int) -> None:
    route = HttpRouteSpec(
        method="GET",
        path="/items/{item_id}",
        name="r",
        category="t",
        handler=get_item,
        auth=claims_identity(claim),
        interceptors=(Authorize("read", "item"),),
    )
    async with make_client(framework, [route], config()) as client:
        assert status == (await client.get("/items/1")).status_code


async def test_rbac_without_a_roles_claim_uses_assignments_only(framework: str) -> None:
    engine = RbacEngine(
        {"viewer": Role(["item:read"])}, assignments={"alice": ["viewer"]}, roles_claim=None
    )
    route = HttpRouteSpec(
        method="GET",
        path="/items/{item_id}",
        name="r",
        category="t",
        handler=get_item,
        auth=claims_identity(["viewer"]),
        interceptors=(Authorize("read", "item"),),
    )
    async with make_client(framework, [route], config(engine)) as client:
        assert 403 == (await client.get("/items/1")).status_code
    assert frozenset({"viewer"}) == engine.granting("read", "item")

"""Route-level limits on both adapters: 429 problems, IETF headers, keys and client IPs."""

from __future__ import annotations

from typing import Any

import pytest

from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Identity,
    Interceptor,
    RouteInterceptor,
    RouteSpecError,
    compile_routes,
)
from mic.model import NotFoundError
from mic.ratelimit import (
    InMemoryRateLimiter,
    RateLimit,
    RateLimiter,
    RedisRateLimiter,
    Strategy,
    TrustedProxies,
    per_api_key,
    per_identity,
    per_ip,
    per_route,
)
from tests.support import build_app, client_for, make_client


async def _ok() -> dict[str, bool]:
    return {"ok": True}


async def _missing() -> None:
    raise NotFoundError(message="no such thing")


class HeaderIdentity(RouteInterceptor):
    """Test auth: ``X-User: kind:subject`` becomes `context.identity`."""

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        async def intercept(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            raw = context.headers.get("x-user")
            if raw:
                kind, _, subject = raw.partition(":")
                context.identity = Identity(subject=subject, kind=kind)
            return await call_next(context)

        return intercept


def route(
    rate_limit: RateLimit, name: str = "items.list", path: str = "/items", **kw: Any
) -> HttpRouteSpec:
    return HttpRouteSpec(
        method="GET",
        path=path,
        name=name,
        category="items",
        handler=kw.pop("handler", _ok),
        rate_limit=rate_limit,
        **kw,
    )


def config(limiter: RateLimiter | None = None, **services: Any) -> HttpRouterConfig:
    found: dict[type[Any], Any] = {RateLimiter: limiter or InMemoryRateLimiter()}
    found.update({type(s): s for s in services.values()})
    return HttpRouterConfig(services=found)


async def test_refused_requests_get_a_429_problem_with_headers(framework: str) -> None:
    spec = route(RateLimit(limit=2, period=60))
    async with make_client(framework, [spec], config()) as client:
        first = await client.get("/items")
        second = await client.get("/items")
        third = await client.get("/items")
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert first.headers["ratelimit"].startswith('"items.list";r=1;t=')
    assert second.headers["ratelimit"].startswith('"items.list";r=0;t=')
    assert first.headers["ratelimit-policy"] == '"items.list";q=2;w=60'
    assert third.headers["content-type"] == "application/problem+json"
    retry_after = int(third.headers["retry-after"])
    # Sliding window: the current count must first become the (decaying) previous one.
    assert 0 < retry_after <= 120
    assert third.headers["ratelimit"] == f'"items.list";r=0;t={retry_after}'
    assert third.headers["ratelimit-policy"] == '"items.list";q=2;w=60'
    body = third.json()
    assert (body["status"], body["code"]) == (429, "rate_limited")
    assert body["details"] == {"policy": "items.list", "limit": 2, "period": 60}


async def test_both_adapters_answer_the_same_refusal(framework: str) -> None:
    spec = route(RateLimit(limit=1, period=60, strategy=Strategy.FIXED_WINDOW))
    async with make_client(framework, [spec], config()) as client:
        await client.get("/items")
        refused = await client.get("/items")
    assert refused.status_code == 429
    assert set(refused.json()) == {"type", "title", "status", "detail", "code", "details"}


async def test_error_answers_carry_the_headers_too(framework: str) -> None:
    spec = route(RateLimit(limit=5, period=60), handler=_missing)
    async with make_client(framework, [spec], config()) as client:
        response = await client.get("/items")
    assert response.status_code == 404
    assert response.headers["ratelimit"].startswith('"items.list";r=4;t=')


async def test_headers_can_be_left_out_of_successful_answers(framework: str) -> None:
    spec = route(RateLimit(limit=1, period=60, headers=False))
    async with make_client(framework, [spec], config()) as client:
        ok = await client.get("/items")
        refused = await client.get("/items")
    assert "ratelimit" not in ok.headers
    assert refused.status_code == 429
    assert "ratelimit" in refused.headers


async def test_a_spoofed_forwarded_for_does_not_escape_the_limit(framework: str) -> None:
    spec = route(RateLimit(limit=1, period=60))
    async with make_client(framework, [spec], config()) as client:
        assert (
            await client.get("/items", headers={"x-forwarded-for": "1.1.1.1"})
        ).status_code == 200
        spoofed = await client.get("/items", headers={"x-forwarded-for": "2.2.2.2"})
    assert spoofed.status_code == 429


async def test_trusted_proxies_reveal_the_client(framework: str) -> None:
    spec = route(RateLimit(limit=1, period=60))
    proxies = TrustedProxies(("127.0.0.1", "10.0.0.0/8"))
    app = build_app(framework, [spec], config(proxies=proxies))
    async with client_for(app) as client:
        # The client (203.0.113.5) reached us through 10.0.0.7, then 127.0.0.1.
        chain = {"x-forwarded-for": "6.6.6.6, 203.0.113.5, 10.0.0.7"}
        assert (await client.get("/items", headers=chain)).status_code == 200
        # Another client is another budget; the spoofed leftmost entry changes nothing.
        other = {"x-forwarded-for": "6.6.6.6, 198.51.100.1, 10.0.0.7"}
        assert (await client.get("/items", headers=other)).status_code == 200
        assert (await client.get("/items", headers=chain)).status_code == 429
    async with client_for(app, client=("192.0.2.9", 4000)) as untrusted:
        # An untrusted peer's header is ignored: it is limited by its own address.
        assert (
            await untrusted.get("/items", headers={"x-forwarded-for": "1.2.3.4"})
        ).status_code == 200
        assert (
            await untrusted.get("/items", headers={"x-forwarded-for": "5.6.7.8"})
        ).status_code == 429


async def test_different_client_ips_have_separate_budgets(framework: str) -> None:
    app = build_app(framework, [route(RateLimit(limit=1, period=60))], config())
    async with (
        client_for(app, client=("192.0.2.1", 1)) as one,
        client_for(app, client=("192.0.2.2", 1)) as two,
    ):
        assert (await one.get("/items")).status_code == 200
        assert (await two.get("/items")).status_code == 200
        assert (await one.get("/items")).status_code == 429


async def test_ipv4_clients_of_a_dual_stack_socket_have_separate_budgets(framework: str) -> None:
    """Review regression: ``::ffff:a.b.c.d`` peers were all keyed as one ``::/64``."""
    app = build_app(framework, [route(RateLimit(limit=1, period=60))], config())
    async with (
        client_for(app, client=("::ffff:192.0.2.1", 1)) as one,
        client_for(app, client=("::ffff:192.0.2.2", 1)) as two,
    ):
        assert (await one.get("/items")).status_code == 200
        assert (await two.get("/items")).status_code == 200
        assert (await one.get("/items")).status_code == 429


async def test_per_identity_limits_each_caller(framework: str) -> None:
    spec = route(RateLimit(limit=1, period=60, key=per_identity), auth=HeaderIdentity())
    async with make_client(framework, [spec], config()) as client:
        assert (await client.get("/items", headers={"x-user": "service:a"})).status_code == 200
        assert (await client.get("/items", headers={"x-user": "service:b"})).status_code == 200
        assert (await client.get("/items", headers={"x-user": "service:a"})).status_code == 429
        # Anonymous callers fall back to their IP.
        assert (await client.get("/items")).status_code == 200
        assert (await client.get("/items")).status_code == 429


async def test_per_api_key_only_trusts_api_key_identities(framework: str) -> None:
    spec = route(RateLimit(limit=1, period=60, key=per_api_key), auth=HeaderIdentity())
    async with make_client(framework, [spec], config()) as client:
        assert (await client.get("/items", headers={"x-user": "api_key:k1"})).status_code == 200
        assert (await client.get("/items", headers={"x-user": "api_key:k2"})).status_code == 200
        # A non-API-key identity is keyed by IP, so two of them share one budget.
        assert (await client.get("/items", headers={"x-user": "user:u1"})).status_code == 200
        assert (await client.get("/items", headers={"x-user": "user:u2"})).status_code == 429


async def test_per_route_and_custom_keys(framework: str) -> None:
    def tenant(context: HttpRequestContext, client_ip: str) -> str | None:
        return context.headers.get("x-tenant")

    routes = [
        route(RateLimit(limit=1, period=60, key=per_route)),
        route(RateLimit(limit=1, period=60, key=tenant), name="t", path="/t"),
    ]
    async with make_client(framework, routes, config()) as client:
        assert (await client.get("/items")).status_code == 200
        assert (await client.get("/items")).status_code == 429
        assert (await client.get("/t", headers={"x-tenant": "a"})).status_code == 200
        assert (await client.get("/t", headers={"x-tenant": "a"})).status_code == 429
        # A key function answering None leaves the request uncounted (and unannotated).
        free = await client.get("/t")
        assert free.status_code == 200
        assert "ratelimit" not in free.headers


async def test_routes_share_a_budget_through_a_scope(framework: str) -> None:
    shared = RateLimit(limit=1, period=60, scope="writes", name="writes")
    routes = [route(shared), route(shared, name="other", path="/other")]
    async with make_client(framework, routes, config()) as client:
        assert (await client.get("/items")).headers["ratelimit-policy"] == '"writes";q=1;w=60'
        assert (await client.get("/other")).status_code == 429


async def test_an_app_wide_limit_and_a_route_limit_both_report(framework: str) -> None:
    limiter = InMemoryRateLimiter()
    app_wide = RateLimit(
        limit=100, period=3600, name="hourly", strategy=Strategy.TOKEN_BUCKET, burst=10
    )
    cfg = HttpRouterConfig(services={RateLimiter: limiter}, interceptors=(app_wide,))
    async with make_client(framework, [route(RateLimit(limit=5, period=1.5))], cfg) as client:
        response = await client.get("/items")
    assert (
        response.headers["ratelimit-policy"]
        == '"items.list";q=5, "hourly";q=100;w=3600;mic-burst=10'
    )
    assert response.headers["ratelimit"].startswith('"items.list";r=4;t=')
    assert '"hourly";r=9;t=' in response.headers["ratelimit"]


async def test_an_unreachable_redis_answers_503_when_failing_closed(framework: str) -> None:
    from redis.asyncio import Redis

    redis = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=None)
    limiter = RedisRateLimiter(redis)
    async with make_client(
        framework, [route(RateLimit(limit=5, period=60))], config(limiter)
    ) as client:
        response = await client.get("/items")
    assert response.status_code == 503
    assert response.json()["code"] == "rate_limiter_unavailable"
    assert response.headers["retry-after"] == "1"
    assert limiter.unavailable_count == 1
    await redis.aclose()


async def test_an_unreachable_redis_lets_requests_through_when_failing_open(framework: str) -> None:
    from redis.asyncio import Redis

    redis = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=None)
    limiter = RedisRateLimiter(redis, failure_mode="open")
    async with make_client(
        framework, [route(RateLimit(limit=5, period=60))], config(limiter)
    ) as client:
        response = await client.get("/items")
    assert response.status_code == 200
    assert limiter.unavailable_count == 1
    await redis.aclose()


@pytest.mark.redis
async def test_redis_limits_routes_on_both_adapters(
    framework: str, redis_url: str, key_prefix: str
) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    limiter = RedisRateLimiter(redis, prefix=key_prefix)
    async with make_client(
        framework, [route(RateLimit(limit=1, period=60))], config(limiter)
    ) as client:
        assert (await client.get("/items")).status_code == 200
        assert (await client.get("/items")).status_code == 429
    async for key in redis.scan_iter(match=key_prefix + "*"):
        await redis.delete(key)
    await redis.aclose()


def test_a_route_without_a_limiter_fails_at_build() -> None:
    with pytest.raises(
        RouteSpecError, match=r"route 'items\.list' has a rate limit but no RateLimiter"
    ):
        compile_routes([route(RateLimit(limit=1, period=1))], HttpRouterConfig())


def test_a_policy_name_that_cannot_be_sent_fails_at_build() -> None:
    spec = route(RateLimit(limit=1, period=1), name="artículos")
    with pytest.raises(RouteSpecError, match="route 'artículos': rate limit policy name"):
        compile_routes([spec], config())


def test_policy_names_are_escaped_as_structured_field_strings() -> None:
    assert RateLimit(limit=3, period=0.5).policy_header('a "b" \\c') == '"a \\"b\\" \\\\c";q=3'


def test_the_route_documents_its_429() -> None:
    (compiled,) = compile_routes([route(RateLimit(limit=1, period=1))], config())
    assert 429 in compiled.error_statuses


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"limit": 0, "period": 1}, ValueError, "limit must be an integer >= 1"),
        (
            {"limit": 2, "period": 1, "cost": 3},
            ValueError,
            "cost must be an integer between 1 and 2",
        ),
        ({"limit": 2, "period": 1, "cost": True}, ValueError, "cost must be an integer between 1"),
        # Review regression: a fractional cost passed here and failed every request (500).
        ({"limit": 2, "period": 1, "cost": 1.5}, ValueError, "cost must be an integer between 1"),
        (
            {"limit": 2, "period": 1, "key": per_ip, "cost": 0},
            ValueError,
            "cost must be an integer",
        ),
        ({"limit": 2, "period": 1, "key": "ip"}, TypeError, "key must be callable"),
    ],
)
def test_bad_route_limits_are_refused(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        RateLimit(**kwargs)

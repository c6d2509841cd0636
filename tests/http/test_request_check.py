"""`RequestCheck`: a synchronous decision before the chain, answered like any interceptor's."""

from __future__ import annotations

import logging

import pytest

from mic.http import (
    HttpRequestContext,
    HttpRouterConfig,
    HttpRouteSpec,
    RequestCheck,
    RouteInterceptor,
)
from mic.model import ForbiddenError
from tests.support import make_client, wire


class HeaderRule(RouteInterceptor):
    """Lets a request through only with ``X-Allowed: yes``; ``X-Allowed: crash`` breaks it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> RequestCheck:
        def check(context: HttpRequestContext) -> None:
            value = context.header("x-allowed")
            self.seen.append(value or "")
            if value == "crash":
                raise RuntimeError("a broken rule")
            if value != "yes":
                raise ForbiddenError("forbidden", "Not allowed")

        return RequestCheck(check)


async def _hello() -> dict[str, str]:
    return {"hello": "world"}


def _routes(rule: HeaderRule) -> list[HttpRouteSpec]:
    return [
        HttpRouteSpec(
            method="GET",
            path="/hello",
            name="hello",
            category="demo",
            handler=_hello,
            interceptors=(rule,),
        )
    ]


@pytest.mark.parametrize(
    ("header", "status"), [("yes", 200), ("no", 403), (None, 403), ("crash", 500)]
)
async def test_a_check_lets_through_or_answers_a_problem(
    framework: str, header: str | None, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    rule = HeaderRule()
    headers = {"x-allowed": header} if header is not None else {}
    with caplog.at_level(logging.ERROR, logger="mic.http"):
        async with make_client(framework, _routes(rule)) as client:
            answer = await client.get("/hello", headers=headers)
    assert status == answer.status_code
    assert [header or ""] == rule.seen
    if status == 200:
        assert {"hello": "world"} == answer.json()
    else:
        assert "application/problem+json" == answer.headers["content-type"]
    assert (status == 500) == ("unhandled error in a request check of route hello" in caplog.text)


async def test_answers_are_the_same_bytes_on_both_frameworks() -> None:
    answers = {}
    for framework in ("fastapi", "litestar"):
        async with make_client(framework, _routes(HeaderRule())) as client:
            answers[framework] = [
                wire(await client.get("/hello", headers={"x-allowed": value}))
                for value in ("yes", "no")
            ]
    assert answers["fastapi"] == answers["litestar"]


async def test_a_check_is_also_an_interceptor_for_generic_callers() -> None:
    """Run through its interceptor form (what a WebSocket handshake does)."""
    rule = HeaderRule()
    check = rule.bind(_routes(rule)[0], HttpRouterConfig())
    allowed = HttpRequestContext(headers={"x-allowed": "yes"})
    refused = HttpRequestContext(headers={"x-allowed": "no"})

    async def call_next(context: HttpRequestContext) -> str:
        return "handled"

    assert "handled" == await check(allowed, call_next)  # type: ignore[arg-type]
    with pytest.raises(ForbiddenError, match="Not allowed"):
        await check(refused, call_next)  # type: ignore[arg-type]

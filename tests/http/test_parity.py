"""The HTTP behaviour suite: every case runs on FastAPI and Litestar and must match byte for byte."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from litestar import Litestar

from mic.fastapi import build_fastapi_router
from mic.http import HttpRouterConfig
from mic.litestar import build_litestar_router
from tests.http.routes import ENTERED, GATE, item_routes
from tests.support import build_app, client_for, eventually, wire

CASES: list[tuple[str, str, str, dict[str, Any], int]] = [
    ("create", "POST", "/items", {"json": {"name": "bolt", "quantity": 3}}, 201),
    ("create default", "POST", "/items", {"json": {"name": "bolt"}}, 201),
    (
        "malformed json",
        "POST",
        "/items",
        {"content": b'{"name": ', "headers": {"content-type": "application/json"}},
        400,
    ),
    (
        "not utf-8",
        "POST",
        "/items",
        {"content": b'{"name": "\xff\xfe"}', "headers": {"content-type": "application/json"}},
        400,
    ),
    ("array body", "POST", "/items", {"json": [1, 2]}, 422),
    ("string body", "POST", "/items", {"json": "name"}, 422),
    ("extra field", "POST", "/items", {"json": {"name": "a", "admin": True}}, 422),
    ("strict types", "POST", "/items", {"json": {"name": "a", "quantity": "3"}}, 422),
    (
        "empty body",
        "POST",
        "/items",
        {"content": b"", "headers": {"content-type": "application/json"}},
        422,
    ),
    ("no content type", "POST", "/items", {"content": b'{"name": "a"}'}, 201),
    (
        "json suffix type",
        "POST",
        "/items",
        {"content": b'{"name": "a"}', "headers": {"content-type": "application/vnd.api+json"}},
        201,
    ),
    (
        "wrong media type",
        "POST",
        "/items",
        {"content": b"name=a", "headers": {"content-type": "application/x-www-form-urlencoded"}},
        415,
    ),
    (
        "bad content-length",
        "POST",
        "/items",
        {"content": b"{}", "headers": {"content-length": "abc"}},
        400,
    ),
    ("get", "GET", "/items/7", {}, 200),
    ("get bad id", "GET", "/items/seven", {}, 422),
    ("get missing", "GET", "/items/404", {}, 404),
    ("put", "PUT", "/items/7", {"json": {"name": "x"}}, 200),
    ("put conflict", "PUT", "/items/7", {"json": {"name": "taken"}}, 409),
    ("put bad id and body", "PUT", "/items/x", {"json": {"nom": 1}}, 422),
    ("delete", "DELETE", "/items/7", {}, 204),
    ("patch no body", "PATCH", "/items/7", {}, 200),
    ("patch body", "PATCH", "/items/7", {"json": {"name": "n"}}, 200),
    ("head", "HEAD", "/items/7", {}, 200),
    ("options", "OPTIONS", "/items/7", {}, 204),
    ("custom options", "OPTIONS", "/custom-options", {}, 200),
    ("method not allowed", "POST", "/items/7", {}, 405),
    ("trace not allowed", "TRACE", "/items/7", {}, 405),
    ("unknown route", "GET", "/nowhere", {}, 404),
    ("search minimal", "GET", "/search?q=a", {}, 200),
    (
        "search full",
        "GET",
        "/search?q=a+b&limit=5&tags=x&tags=y&id=1&id=2&exact=true&color=blue&level=2&sort=desc&page=3&ref=12345678-1234-5678-1234-567812345678&since=2026-01-02T03:04:05Z&day=2026-01-02&price=1.50",
        {},
        200,
    ),
    ("search missing q", "GET", "/search", {}, 422),
    (
        "search all bad",
        "GET",
        "/search?q=a&limit=0&id=x&exact=maybe&color=green&level=9&sort=up&page=4&ref=nope&since=yesterday&day=2026-13-01&price=abc",
        {},
        422,
    ),
    ("search limit too big", "GET", "/search?q=a&limit=101", {}, 422),
    (
        "whoami",
        "GET",
        "/whoami",
        {
            "headers": {
                "X-Tenant": "acme",
                "Accept-Language": "fr",
                "Cookie": "session=s1; other=2",
                "User-Agent": "t/1",
                "x-trace": "a",
            }
        },
        200,
    ),
    (
        "whoami repeated header",
        "GET",
        "/whoami",
        {"headers": [("x-tenant", "acme"), ("x-trace", "a"), ("x-trace", "b")]},
        200,
    ),
    ("whoami post", "POST", "/whoami", {"headers": {"x-tenant": "acme"}}, 200),
    ("whoami missing header", "GET", "/whoami", {}, 422),
    ("raw bytes", "GET", "/raw", {}, 200),
    ("text", "GET", "/text", {}, 200),
    ("csv", "GET", "/text?fmt=csv", {}, 200),
    ("values", "GET", "/values", {}, 200),
    ("headers and cookies", "GET", "/headers", {}, 202),
    ("unhandled", "GET", "/explode", {}, 500),
    ("transient", "GET", "/unavailable", {}, 503),
]


async def _send(
    client: httpx.AsyncClient, method: str, path: str, options: dict[str, Any]
) -> httpx.Response:
    return await client.request(method, path, **options)


def _apps(framework: str, prefix: str = "") -> list[Any]:
    """The one-call app and a plain framework app with the router mounted (spec quick start)."""
    routes = item_routes()
    if framework == "fastapi":
        plain = FastAPI()
        plain.include_router(build_fastapi_router(routes=routes, prefix=prefix))
    else:
        plain = Litestar(route_handlers=[build_litestar_router(routes=routes, prefix=prefix)])
    return [build_app(framework, routes, prefix=prefix), plain]


@pytest.mark.parametrize(
    ("name", "method", "path", "options", "status"), CASES, ids=[c[0] for c in CASES]
)
async def test_both_adapters_answer_the_same_bytes(
    name: str, method: str, path: str, options: dict[str, Any], status: int
) -> None:
    answers = []
    for framework in ("fastapi", "litestar"):
        async with client_for(build_app(framework, item_routes())) as client:
            answers.append(wire(await _send(client, method, path, options)))
    fastapi_answer, litestar_answer = answers
    assert status == fastapi_answer[0]
    assert fastapi_answer == litestar_answer


@pytest.mark.parametrize(
    ("name", "method", "path", "options", "status"),
    [c for c in CASES if c[0] != "unknown route"],
    ids=[c[0] for c in CASES if c[0] != "unknown route"],
)
async def test_plain_framework_apps_answer_like_the_builders(
    name: str, method: str, path: str, options: dict[str, Any], status: int
) -> None:
    """Mounting the router on a bare FastAPI()/Litestar() changes nothing for spec routes."""
    for framework in ("fastapi", "litestar"):
        built, plain = _apps(framework)
        async with client_for(built) as a, client_for(plain) as b:
            assert wire(await _send(a, method, path, options)) == wire(
                await _send(b, method, path, options)
            )


async def _json(framework: str, method: str, path: str, **options: Any) -> httpx.Response:
    async with client_for(build_app(framework, item_routes())) as client:
        return await client.request(method, path, **options)


async def test_create_returns_the_success_envelope(framework: str) -> None:
    response = await _json(framework, "POST", "/items", json={"name": "bolt", "quantity": 3})
    assert response.json() == {"success": True, "data": {"name": "bolt", "qty": 3}, "meta": None}
    assert response.headers["content-type"] == "application/json"


async def test_validation_lists_every_failing_field_with_its_location(framework: str) -> None:
    response = await _json(
        framework,
        "GET",
        "/search?q=a&limit=0&id=x&exact=maybe&color=green&level=9&sort=up&page=4&ref=nope&since=yesterday&day=2026-13-01&price=abc",
    )
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert {k: v for k, v in problem.items() if k != "details"} == {
        "type": "about:blank",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "The request is not valid",
        "code": "validation_failed",
    }
    locations = [tuple(e["loc"]) for e in problem["details"]["errors"]]
    assert locations == [
        ("query", "limit"),
        ("query", "id", 0),
        ("query", "exact"),
        ("query", "color"),
        ("query", "level"),
        ("query", "sort"),
        ("query", "page"),
        ("query", "ref"),
        ("query", "since"),
        ("query", "day"),
        ("query", "price"),
    ]
    assert all("input" not in e for e in problem["details"]["errors"])


async def test_path_and_body_errors_are_reported_together(framework: str) -> None:
    response = await _json(framework, "PUT", "/items/x", json={"nom": 1})
    locations = [e["loc"] for e in response.json()["details"]["errors"]]
    assert locations == [["path", "item_id"], ["body", "name"], ["body", "nom"]]


async def test_query_values_are_converted_from_their_annotations(framework: str) -> None:
    response = await _json(
        framework,
        "GET",
        "/search?q=a+b&limit=5&tags=x&tags=y&id=1&id=2&exact=true&color=blue&level=2&sort=desc&page=3&ref=12345678-1234-5678-1234-567812345678&since=2026-01-02T03:04:05Z&day=2026-01-02&price=1.50",
    )
    assert response.json() == {
        "q": "a b",
        "limit": 5,
        "tags": ["x", "y"],
        "ids": [1, 2],
        "exact": True,
        "color": "blue",
        "level": 2,
        "sort": "desc",
        "page": 3,
        "ref": "12345678-1234-5678-1234-567812345678",
        "since": "2026-01-02T03:04:05Z",
        "day": "2026-01-02",
        "price": "1.50",
    }


async def test_defaults_apply_and_mutable_defaults_are_not_shared(framework: str) -> None:
    first = (await _json(framework, "GET", "/search?q=a")).json()
    assert first == {
        "q": "a",
        "limit": 10,
        "tags": None,
        "ids": [],
        "exact": False,
        "color": None,
        "level": 1,
        "sort": "asc",
        "page": 1,
        "ref": None,
        "since": None,
        "day": None,
        "price": None,
    }


async def test_headers_cookies_and_context_reach_the_handler(framework: str) -> None:
    response = await _json(
        framework,
        "GET",
        "/whoami",
        headers=[
            ("X-Tenant", "acme"),
            ("Cookie", "session=s1; other=2"),
            ("User-Agent", "t/1"),
            ("x-trace", "a"),
            ("X-Trace", "b"),
        ],
    )
    assert response.json() == {
        "tenant": "acme",
        "lang": None,
        "session": "s1",
        "traces": ["a", "b"],
        "ua": "t/1",
        "path": "/whoami",
        "method": "GET",
        "route": "/whoami",
    }


async def test_missing_header_is_a_validation_error(framework: str) -> None:
    response = await _json(framework, "GET", "/whoami")
    assert [e["loc"] for e in response.json()["details"]["errors"]] == [["header", "x-tenant"]]


async def test_response_kinds_serialize_identically(framework: str) -> None:
    raw = await _json(framework, "GET", "/raw")
    assert (
        raw.content,
        raw.headers["content-type"],
    ) == (b"\x00\x01binary", "application/octet-stream")
    text = await _json(framework, "GET", "/text")
    assert (text.text, text.headers["content-type"]) == ("héllo", "text/plain; charset=utf-8")
    values = await _json(framework, "GET", "/values")
    assert values.json() == {
        "uuid": "12345678-1234-5678-1234-567812345678",
        "when": "2026-01-02T03:04:05Z",
        "day": "2026-01-02",
        "price": "10.50",
        "point": {"x": 1, "y": 2},
        "item": {"id": 1, "name": "a"},
        "color": "red",
    }


async def test_custom_headers_and_secure_cookies(framework: str) -> None:
    response = await _json(framework, "GET", "/headers")
    assert response.headers["x-custom"] == "yes"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers.get_list("set-cookie") == [
        "session=abc123; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax",
        "pref=dark; Path=/; SameSite=Strict",
    ]


async def test_no_content_has_no_body_and_no_length(framework: str) -> None:
    response = await _json(framework, "DELETE", "/items/1")
    assert (
        response.status_code,
        response.content,
        response.headers.get("content-length"),
        response.headers.get("content-type"),
    ) == (204, b"", None, None)


async def test_head_mirrors_get_without_body(framework: str) -> None:
    get = await _json(framework, "GET", "/items/7")
    head = await _json(framework, "HEAD", "/items/7")
    assert (200, b"", get.headers["content-length"]) == (
        head.status_code,
        head.content,
        head.headers["content-length"],
    )


async def test_wrong_method_lists_allowed_methods(framework: str) -> None:
    response = await _json(framework, "POST", "/items/7")
    assert response.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"
    assert response.json()["code"] == "method_not_allowed"
    options = await _json(framework, "OPTIONS", "/items")
    assert options.headers["allow"] == "OPTIONS, POST"


async def test_unknown_route_is_a_problem(framework: str) -> None:
    response = await _json(framework, "GET", "/nowhere")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


async def test_domain_errors_carry_code_and_details(framework: str) -> None:
    response = await _json(framework, "GET", "/items/404")
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Item 404 does not exist",
        "code": "item_not_found",
        "details": {"id": 404},
    }


async def test_transient_errors_are_503_with_retry_after(framework: str) -> None:
    response = await _json(framework, "GET", "/unavailable")
    assert (
        response.status_code,
        response.headers["retry-after"],
        response.json()["code"],
    ) == (503, "3", "db_down")


async def test_unhandled_errors_leak_nothing_and_are_logged(
    framework: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="mic.http"):
        response = await _json(framework, "GET", "/explode")
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "The server could not complete the request",
        "code": "internal_error",
        "details": {},
    }
    assert "hunter2" not in response.text
    assert any("explode" in r.getMessage() and r.exc_info for r in caplog.records)


@pytest.mark.parametrize("size", [64, 65, 10_000])
async def test_body_limit_is_enforced_with_and_without_content_length(
    framework: str, size: int
) -> None:
    app = build_app(framework, item_routes(), HttpRouterConfig(max_body_size=64))
    body = json.dumps({"name": "x" * (size - 12)}).encode()
    assert size == len(body)

    async def chunks() -> Any:
        yield body[: size // 2]
        yield body[size // 2 :]

    async with client_for(app) as client:
        declared = await client.post(
            "/items", content=body, headers={"content-type": "application/json"}
        )
        streamed = await client.post(
            "/items", content=chunks(), headers={"content-type": "application/json"}
        )
    expected = 201 if size <= 64 else 413
    assert (expected, expected) == (declared.status_code, streamed.status_code)
    if expected == 413:
        assert declared.json()["details"] == {"max_body_size": 64}
        assert "transfer-encoding" not in declared.request.headers
        assert streamed.request.headers["transfer-encoding"] == "chunked"


async def test_sync_handlers_do_not_block_the_event_loop(framework: str) -> None:
    GATE.clear()
    async with client_for(build_app(framework, item_routes())) as client:
        blocked = asyncio.create_task(client.get("/blocking"))
        await eventually(ENTERED.is_set, what="the sync handler blocks its worker thread")
        released = await asyncio.wait_for(client.get("/release"), timeout=2)
        assert (await asyncio.wait_for(blocked, timeout=5)).json() == {"released": True}
    assert released.status_code == 200


async def test_routers_mount_under_a_prefix(framework: str) -> None:
    built, plain = _apps(framework, prefix="/v1")
    for app in (built, plain):
        async with client_for(app) as client:
            assert (await client.get("/v1/items/3")).status_code == 200
            assert (await client.get("/items/3")).status_code == 404
            assert (await client.get("/v1/whoami", headers={"x-tenant": "t"})).json()[
                "route"
            ] == "/v1/whoami"


async def test_client_disconnect_while_reading_body_sends_nothing(framework: str) -> None:
    app = build_app(framework, item_routes())
    sent: list[dict[str, Any]] = []
    messages = [
        {"type": "http.request", "body": b'{"na', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/items",
        "raw_path": b"/items",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    assert sent == []


@pytest.mark.parametrize("path", ["/items/7/", "/items/", "/search/?q=a", "/nowhere/"])
@pytest.mark.parametrize("method", ["GET", "POST", "HEAD", "OPTIONS"])
async def test_a_trailing_slash_answers_the_same_on_both_frameworks(method: str, path: str) -> None:
    """Litestar ignores a trailing slash; the FastAPI adapter serves it instead of a 307."""
    answers = []
    for framework in ("fastapi", "litestar"):
        built, plain = _apps(framework)
        for app in (built, plain) if not path.startswith("/nowhere") else (built,):
            async with client_for(app) as client:
                answers.append(
                    wire(
                        await client.request(
                            method, path, json={"name": "a"} if method == "POST" else None
                        )
                    )
                )
    assert all(answer == answers[0] for answer in answers), [a[0] for a in answers]
    assert 307 != answers[0][0]


@pytest.mark.parametrize(
    ("path", "status"),
    [("/items//7", 200), ("/items/7//", 200), ("/items//", 405)],
)
async def test_doubled_slashes_answer_the_same_on_both_frameworks(path: str, status: int) -> None:
    # Runs of slashes count as one (Litestar's rule, which mic's router follows on FastAPI).
    answers = []
    for framework in ("fastapi", "litestar"):
        async with client_for(build_app(framework, item_routes())) as client:
            answers.append(wire(await client.get(path)))
    assert answers[0] == answers[1]
    assert status == answers[0][0]

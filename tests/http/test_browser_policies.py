"""Security headers, CORS and CSRF: router-level policies, the same bytes on both frameworks."""

from __future__ import annotations

from typing import Any

import pytest

from mic.http import (
    CorsPolicy,
    CsrfPolicy,
    HttpResponse,
    HttpResponseSpec,
    HttpRouterConfig,
    HttpRouteSpec,
    SecurityHeaders,
    build_openapi,
)
from mic.model import NotFoundError
from tests.support import make_client, wire

APP = "https://app.example.com"


async def get_item(*, item_id: str) -> dict[str, str]:
    if item_id == "missing":
        raise NotFoundError("item_not_found", "No such item")
    return {"id": item_id}


async def update_item(*, item_id: str) -> dict[str, str]:
    return {"id": item_id, "updated": "yes"}


ROUTES = [
    HttpRouteSpec(
        method="GET", path="/items/{item_id}", name="get", category="t", handler=get_item
    ),
    HttpRouteSpec(
        method="PUT", path="/items/{item_id}", name="put", category="t", handler=update_item
    ),
]


def client(framework: str, *policies: Any) -> Any:
    return make_client(framework, ROUTES, HttpRouterConfig(interceptors=policies))


# --- security headers ---------------------------------------------------------------------


async def test_security_headers_on_answers_and_errors(framework: str) -> None:
    async with client(framework, SecurityHeaders()) as http:
        ok = await http.get("/items/1")
        missing = await http.get("/items/missing")
    for response in (ok, missing):
        assert (
            "max-age=63072000; includeSubDomains" == response.headers["strict-transport-security"]
        )
        assert "nosniff" == response.headers["x-content-type-options"]
        assert "DENY" == response.headers["x-frame-options"]
        assert (
            "default-src 'none'; frame-ancestors 'none'"
            == response.headers["content-security-policy"]
        )
        assert "no-referrer" == response.headers["referrer-policy"]
        assert "same-origin" == response.headers["cross-origin-opener-policy"]
    assert 404 == missing.status_code


async def test_security_headers_custom_and_disabled(framework: str) -> None:
    policy = SecurityHeaders(
        hsts_max_age=None,
        frame_options="SAMEORIGIN",
        content_security_policy=None,
        referrer_policy=None,
        cross_origin_opener_policy=None,
        custom={"Permissions-Policy": "geolocation=()"},
    )
    async with client(framework, policy) as http:
        response = await http.get("/items/1")
    assert "strict-transport-security" not in response.headers
    assert "content-security-policy" not in response.headers
    assert "SAMEORIGIN" == response.headers["x-frame-options"]
    assert "geolocation=()" == response.headers["permissions-policy"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hsts_max_age": -1}, "hsts_max_age"),
        ({"hsts_preload": True, "hsts_max_age": 60}, "preload"),
        ({"frame_options": "ALLOW-FROM x"}, "frame_options"),
        ({"referrer_policy": "sometimes"}, "referrer_policy"),
        ({"content_security_policy": "default-src 'self'\r\nX-Evil: 1"}, "line break"),
        ({"custom": {"Bad Name": "x"}}, "not a valid token"),
        ({"custom": {"X-Snow": "\u2603"}}, "latin-1"),
    ],
)
def test_security_headers_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SecurityHeaders(**options)


# --- CORS -----------------------------------------------------------------------------------

CORS = CorsPolicy(
    allow_origins=(APP,),
    allow_headers=("X-CSRF-Token", "Authorization"),
    expose_headers=("ETag",),
    allow_credentials=True,
    max_age=300,
)


async def test_cors_actual_request_from_an_allowed_origin(framework: str) -> None:
    async with client(framework, CORS) as http:
        response = await http.get("/items/1", headers={"origin": APP})
        missing = await http.get("/items/missing", headers={"origin": APP})
    for answer in (response, missing):
        assert APP == answer.headers["access-control-allow-origin"]
        assert "true" == answer.headers["access-control-allow-credentials"]
        assert "ETag" == answer.headers["access-control-expose-headers"]
        assert "Origin" == answer.headers["vary"]


async def test_cors_no_origin_or_same_origin_is_not_cors(framework: str) -> None:
    async with client(framework, CORS) as http:
        plain = await http.get("/items/1")
        same = await http.put("/items/1", headers={"origin": "http://testserver"})
    assert (200, 200) == (plain.status_code, same.status_code)
    assert "access-control-allow-origin" not in plain.headers
    assert "Origin" == plain.headers["vary"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.com",
        "https://app.example.com.evil.com",  # suffix tricks
        "http://app.example.com",  # another scheme is another origin
        "https://app.example.com:8443",
        "null",
        "https://APP.example.com",  # browsers serialize lower-case: anything else is forged
    ],
)
async def test_cors_hostile_origins_are_refused(framework: str, origin: str) -> None:
    async with client(framework, CORS) as http:
        response = await http.put("/items/1", headers={"origin": origin})
    assert 403 == response.status_code
    assert "application/problem+json" == response.headers["content-type"]
    assert "cors_origin_not_allowed" == response.json()["code"]
    assert "access-control-allow-origin" not in response.headers


async def test_cors_two_origin_headers_are_refused(framework: str) -> None:
    async with client(framework, CORS) as http:
        response = await http.get("/items/1", headers=[("origin", APP), ("origin", APP)])
    assert 403 == response.status_code


async def test_cors_any_origin_without_credentials(framework: str) -> None:
    async with client(framework, CorsPolicy(allow_origins=("*",))) as http:
        response = await http.get("/items/1", headers={"origin": "https://anyone.example"})
    assert "*" == response.headers["access-control-allow-origin"]
    assert "vary" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


def preflight(method: str = "PUT", headers: str | None = None, origin: str = APP) -> dict[str, str]:
    sent = {"origin": origin, "access-control-request-method": method}
    if headers is not None:
        sent["access-control-request-headers"] = headers
    return sent


async def test_cors_preflight_is_answered_by_the_core(framework: str) -> None:
    async with client(framework, CORS) as http:
        response = await http.options(
            "/items/1", headers=preflight("PUT", "x-csrf-token, content-type")
        )
    assert 204 == response.status_code
    assert b"" == response.content
    assert APP == response.headers["access-control-allow-origin"]
    assert "GET, HEAD, POST, PUT, PATCH, DELETE" == response.headers["access-control-allow-methods"]
    assert "x-csrf-token, content-type" == response.headers["access-control-allow-headers"]
    assert "300" == response.headers["access-control-max-age"]
    assert "true" == response.headers["access-control-allow-credentials"]
    assert (
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        == (response.headers["vary"])
    )


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        (preflight(origin="https://evil.example.com"), "cors_origin_not_allowed"),
        (preflight("TRACE"), "cors_method_not_allowed"),
        (preflight("PUT", "x-secret"), "cors_header_not_allowed"),
        (preflight("PUT", "x-csrf-token, x-evil\r"), "cors_header_not_allowed"),
    ],
)
async def test_cors_bad_preflights(framework: str, headers: dict[str, str], code: str) -> None:
    async with client(framework, CORS) as http:
        response = await http.options("/items/1", headers=headers)
    assert 403 == response.status_code
    assert code == response.json()["code"]


async def test_plain_options_still_answers_allow(framework: str) -> None:
    async with client(framework, CORS, SecurityHeaders()) as http:
        response = await http.options("/items/1")
    assert 204 == response.status_code
    assert "GET, HEAD, OPTIONS, PUT" == response.headers["allow"]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"allow_origins": ("*",), "allow_credentials": True}, ValueError, "cannot be combined"),
        ({"allow_origins": ("null",)}, ValueError, "null"),
        ({"allow_origins": ("https://app.example.com/",)}, ValueError, "is not an origin"),
        ({"allow_origins": ("app.example.com",)}, ValueError, "is not an origin"),
        ({"allow_origins": ()}, ValueError, "at least one"),
        ({"allow_origins": APP}, TypeError, "not one string"),
        ({"allow_origins": (APP,), "allow_methods": ("FETCH",)}, ValueError, "unknown method"),
        ({"allow_origins": (APP,), "allow_headers": ("a b",)}, ValueError, "not a valid"),
        ({"allow_origins": (APP,), "allow_headers": "x-a"}, TypeError, "not one string"),
        ({"allow_origins": (APP,), "max_age": -5}, ValueError, "max_age"),
    ],
)
def test_cors_bad_options(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        CorsPolicy(**options)


# --- CSRF -----------------------------------------------------------------------------------

CSRF = CsrfPolicy(auth_cookies=("session",))
TOKEN = "t" * 43


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"cookie": f"session=s1; __Host-csrf={TOKEN}", "x-csrf-token": TOKEN}, 200, None),
        ({"cookie": f"session=s1; __Host-csrf={TOKEN}"}, 403, "csrf_token_missing"),
        ({"cookie": "session=s1", "x-csrf-token": TOKEN}, 403, "csrf_token_missing"),
        (
            {"cookie": f"session=s1; __Host-csrf={TOKEN}", "x-csrf-token": "u" * 43},
            403,
            "csrf_token_invalid",
        ),
        (
            {"cookie": "session=s1; __Host-csrf=short", "x-csrf-token": "short"},
            403,
            "csrf_token_invalid",
        ),
        ({"authorization": "Bearer abc"}, 200, None),  # not cookie-authenticated: no CSRF
    ],
)
async def test_csrf_double_submit(
    framework: str, headers: dict[str, str], status: int, code: str | None
) -> None:
    async with client(framework, CSRF) as http:
        response = await http.put("/items/1", headers=headers)
    assert status == response.status_code
    if code is not None:
        assert "application/problem+json" == response.headers["content-type"]
        assert code == response.json()["code"]
        assert TOKEN not in response.text


async def test_csrf_cookie_is_issued_on_safe_requests(framework: str) -> None:
    async with client(framework, CSRF) as http:
        fresh = await http.get("/items/1")
        kept = await http.get("/items/1", headers={"cookie": f"__Host-csrf={TOKEN}"})
    cookie = fresh.headers["set-cookie"]
    assert cookie.startswith("__Host-csrf=")
    assert cookie.endswith("; Path=/; Secure; SameSite=Strict")
    assert "HttpOnly" not in cookie  # the page's script must read it
    assert 43 == len(cookie.split(";")[0].split("=")[1])
    assert "set-cookie" not in kept.headers


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"auth_cookies": ()}, ValueError, "must name"),
        ({"auth_cookies": "session"}, TypeError, "not one string"),
        ({"auth_cookies": ("s",), "header_name": "X Token"}, ValueError, "not a valid"),
        ({"auth_cookies": ("s",), "secure": False}, ValueError, "__Host- cookie must be secure"),
        ({"auth_cookies": ("s",), "same_site": "none"}, ValueError, "same_site"),
    ],
)
def test_csrf_bad_options(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        CsrfPolicy(**options)


def test_csrf_insecure_cookie_for_local_development() -> None:
    policy = CsrfPolicy(auth_cookies=("s",), cookie_name="csrf", secure=False, same_site="lax")
    assert policy.set_cookie("abc") == "csrf=abc; Path=/; SameSite=Lax"


async def test_same_bytes_on_both_frameworks() -> None:
    answers = []
    for framework in ("fastapi", "litestar"):
        async with client(framework, SecurityHeaders(), CORS, CSRF) as http:
            answers.append(
                [
                    wire(
                        await http.get(
                            "/items/1", headers={"origin": APP, "cookie": f"__Host-csrf={TOKEN}"}
                        )
                    ),
                    wire(
                        await http.put("/items/1", headers={"origin": APP, "cookie": "session=s"})
                    ),
                    wire(await http.options("/items/1", headers=preflight())),
                ]
            )
    assert answers[0] == answers[1]


def test_documented_403() -> None:
    document = build_openapi(ROUTES, config=HttpRouterConfig(interceptors=(CORS, CSRF)))
    assert "403" in document["paths"]["/items/{item_id}"]["put"]["responses"]


async def test_a_405_carries_the_router_policies(framework: str) -> None:
    async with client(framework, SecurityHeaders(), CORS) as http:
        response = await http.delete("/items/1", headers={"origin": APP})
    assert 405 == response.status_code
    assert "GET, HEAD, OPTIONS, PUT" == response.headers["allow"]
    assert "nosniff" == response.headers["x-content-type-options"]
    assert APP == response.headers["access-control-allow-origin"]


async def own_csp() -> HttpResponseSpec:
    return HttpResponseSpec(
        body={"ok": 1}, headers={"Content-Security-Policy": "default-src 'self'", "Vary": "Accept"}
    )


async def test_a_route_keeps_its_own_headers_and_vary_is_merged(framework: str) -> None:
    route = HttpRouteSpec(method="GET", path="/page", name="page", category="t", handler=own_csp)
    config = HttpRouterConfig(
        interceptors=(SecurityHeaders(hsts_preload=True, content_type_options=False), CORS)
    )
    async with make_client(framework, [route], config) as http:
        response = await http.get("/page", headers={"origin": APP})
    assert "default-src 'self'" == response.headers["content-security-policy"]
    assert "Accept, Origin" == response.headers["vary"]
    assert (
        "max-age=63072000; includeSubDomains; preload"
        == response.headers["strict-transport-security"]
    )
    assert "x-content-type-options" not in response.headers


async def test_any_origin_preflight_without_extras(framework: str) -> None:
    policy = CorsPolicy(allow_origins=("*",), max_age=None)
    async with client(framework, policy) as http:
        response = await http.options("/items/1", headers=preflight("GET"))
        same = await http.get("/items/1", headers={"origin": "http://testserver"})
    assert 204 == response.status_code
    assert "*" == response.headers["access-control-allow-origin"]
    for name in (
        "access-control-allow-headers",
        "access-control-max-age",
        "access-control-allow-credentials",
    ):
        assert name not in response.headers
    assert "vary" not in same.headers


def test_vary_star_is_left_alone_and_answers_are_copied() -> None:
    from mic.http._cors import _with_headers

    response = HttpResponse(200, [(b"vary", b"*")])
    copied = _with_headers(response, [(b"x-a", b"1")], vary=b"Origin")
    assert [(b"vary", b"*"), (b"x-a", b"1")] == copied.headers
    assert [(b"vary", b"*")] == response.headers  # the original is untouched


async def test_core_answers_do_not_pile_up_headers(framework: str) -> None:
    async with client(framework, SecurityHeaders(), CORS, CSRF) as http:
        answers = [await http.options("/items/1", headers={"origin": APP}) for _ in range(3)]
        refused = [await http.delete("/items/1", headers={"origin": APP}) for _ in range(3)]
    for series in (answers, refused):
        lengths = {len(a.headers.multi_items()) for a in series}
        assert 1 == len(lengths), lengths


async def test_an_unrouted_404_carries_the_security_headers(framework: str) -> None:
    async with client(framework, SecurityHeaders()) as http:
        response = await http.get("/nowhere")
    assert 404 == response.status_code
    assert "nosniff" == response.headers["x-content-type-options"]

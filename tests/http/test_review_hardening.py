"""Regression tests from the issue 2 review: inputs and answers that used to break parity or JSON."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from litestar import Litestar, get
from pydantic import BaseModel

from mic.fastapi import build_fastapi_router
from mic.http import HttpResponseSpec, HttpRouteSpec, render_problem
from mic.litestar import build_litestar_router, problem_exception_handlers
from mic.model import DomainError, NotFoundError
from tests.support import build_app, client_for, wire


class ClientClosedError(DomainError):
    """A custom error with a status `http.HTTPStatus` does not know."""

    http_status_code = 499
    default_code = "client_closed"


class NotAnError(DomainError):
    """A misconfigured error class: a success status."""

    http_status_code = 200
    default_code = "not_an_error"


async def non_finite(*, ratio: float = 1.0) -> dict[str, object]:
    return {"nan": float("nan"), "inf": float("inf"), "ratio": ratio}


async def client_closed() -> None:
    raise ClientClosedError()


async def euro_header() -> None:
    raise NotFoundError("gone", "Gone", headers={"X-Price": "10 €", "X-Ok": "yes"})


async def framing_headers() -> None:
    raise NotFoundError(headers={"Content-Type": "text/html", "Content-Length": "1"})


async def csv() -> HttpResponseSpec:
    return HttpResponseSpec(body="a,b\n", headers={"Content-Type": "text/csv", "X-A": "1"})


class Payload(BaseModel):
    name: str = ""


async def create(*, payload: Payload | None = None) -> None:
    return None


async def item(*, item_id: int) -> dict[str, int]:
    return {"id": item_id}


ROUTES = (
    HttpRouteSpec(method="GET", path="/non-finite", name="nf", category="c", handler=non_finite),
    HttpRouteSpec(method="GET", path="/499", name="c499", category="c", handler=client_closed),
    HttpRouteSpec(method="GET", path="/euro", name="euro", category="c", handler=euro_header),
    HttpRouteSpec(method="GET", path="/framing", name="fr", category="c", handler=framing_headers),
    HttpRouteSpec(method="GET", path="/csv", name="csv", category="c", handler=csv),
    HttpRouteSpec(method="GET", path="/items/{item_id}", name="get", category="c", handler=item),
    HttpRouteSpec(method="PUT", path="/items/{item_id}", name="put", category="c", handler=item),
)


async def _both(method: str, path: str, **options: Any) -> httpx.Response:
    """Send to both one-call apps, assert identical bytes, return the FastAPI answer."""
    answers = []
    for framework in ("fastapi", "litestar"):
        async with client_for(build_app(framework, ROUTES)) as client:
            answers.append(await client.request(method, path, **options))
    assert wire(answers[0]) == wire(answers[1])
    return answers[0]


def _strict_json(content: bytes) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(content, parse_constant=refuse)


async def test_non_finite_floats_render_as_valid_json() -> None:
    """pydantic writes NaN/Infinity by default, which is not JSON (RFC 8259)."""
    response = await _both("GET", "/non-finite?ratio=nan")
    assert {"nan": None, "inf": None, "ratio": None} == _strict_json(response.content)


async def test_error_with_an_unregistered_status_is_still_a_problem() -> None:
    response = await _both("GET", "/499")
    assert (499, "application/problem+json") == (
        response.status_code,
        response.headers["content-type"],
    )
    assert {"title": "Client Error", "code": "client_closed"} == {
        k: response.json()[k] for k in ("title", "code")
    }


async def test_error_with_a_non_latin_1_header_drops_headers_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="mic.http"):
        response = await _both("GET", "/euro")
    assert (404, "gone", None) == (
        response.status_code,
        response.json()["code"],
        response.headers.get("x-price"),
    )
    assert "not latin-1" in caplog.text


async def test_error_headers_cannot_override_the_framing() -> None:
    response = await _both("GET", "/framing")
    assert ["application/problem+json"] == response.headers.get_list("content-type")
    assert [str(len(response.content))] == response.headers.get_list("content-length")


def test_error_with_a_success_status_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="mic.http"):
        rendered = render_problem(NotAnError())
    assert (500, b'"code":"internal_error"') == (
        rendered.status_code,
        rendered.body[rendered.body.index(b'"code"') :][:23],
    )
    assert "not a 4xx/5xx" in caplog.text


async def test_content_type_header_is_the_media_type_and_sent_once() -> None:
    response = await _both("GET", "/csv")
    assert (["text/csv"], "1", "a,b\n") == (
        response.headers.get_list("content-type"),
        response.headers["x-a"],
        response.text,
    )


@pytest.mark.parametrize(
    ("headers", "media_type", "message"),
    [
        ({"Content-Length": "3"}, None, "computed by the renderer"),
        ({"transfer-encoding": "chunked"}, None, "computed by the renderer"),
        ({"Content-Type": "text/csv"}, "text/plain", "disagree"),
        ({"X-Price": "10 €"}, None, "not latin-1"),
    ],
)
def test_response_headers_that_would_corrupt_the_answer_are_refused(
    headers: dict[str, str], media_type: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        HttpResponseSpec(body=b"abc", headers=headers, media_type=media_type)


def test_a_matching_content_type_header_and_media_type_are_accepted() -> None:
    spec = HttpResponseSpec(headers={"content-type": "text/csv"}, media_type="text/csv")
    assert ("text/csv", {}) == (spec.media_type, spec.headers)
    assert {"X-Cafe": "café"} == HttpResponseSpec(headers={"X-Cafe": "café"}).headers


@pytest.mark.parametrize("declared", [b"\xb2", b"\xb9\xb2", b"+3", b"-1", b" 3"])
async def test_a_content_length_that_is_not_ascii_digits_is_400(
    framework: str, declared: bytes
) -> None:
    """`"²".isdigit()` is true but `int("²")` fails: this used to be a 500."""
    routes = (HttpRouteSpec(method="POST", path="/c", name="c", category="c", handler=create),)
    app = build_app(framework, routes)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/c",
        "raw_path": b"/c",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "headers": [(b"content-type", b"application/json"), (b"content-length", declared)],
        "state": {},
    }
    await app(scope, receive, send)
    assert (400, b'"code":"invalid_content_length"') == (
        sent[0]["status"],
        sent[1]["body"][sent[1]["body"].index(b'"code"') :][:31],
    )


def _plain_apps() -> list[Any]:
    fastapi = FastAPI()
    fastapi.include_router(build_fastapi_router(routes=ROUTES, prefix="/v1"))
    litestar = Litestar(
        route_handlers=[build_litestar_router(routes=ROUTES, prefix="/v1")],
        exception_handlers=problem_exception_handlers(),
        logging_config=None,
    )
    return [fastapi, litestar]


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "CONNECT", "TRACE", "POST"])
async def test_any_unserved_method_is_405_with_the_exact_allow(method: str) -> None:
    """RFC 9110 section 15.5.6: a 405 MUST list the allowed methods; extension methods too."""
    response = await _both(method, "/items/1")
    assert (405, "GET, HEAD, OPTIONS, PUT") == (response.status_code, response.headers["allow"])
    answers = []
    for app in _plain_apps():
        async with client_for(app) as client:
            answers.append(wire(await client.request(method, "/v1/items/1")))
    assert answers[0] == answers[1]
    assert ("allow", "GET, HEAD, OPTIONS, PUT") in answers[0][1]


async def test_litestar_405_on_its_own_routes_keeps_an_allow_header() -> None:
    @get("/plain")
    async def plain() -> str:
        return "plain"

    app = Litestar(
        route_handlers=[plain, build_litestar_router(routes=ROUTES)],
        exception_handlers=problem_exception_handlers(),
        logging_config=None,
    )
    async with client_for(app) as client:
        response = await client.request("FOO", "/plain")
    assert (405, "method_not_allowed") == (response.status_code, response.json()["code"])
    assert "GET" in response.headers["allow"].split(", ")

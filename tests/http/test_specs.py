"""Response and cookie specs: secure defaults, and invalid values refused at construction."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from mic.http import HttpCookieSpec, HttpResponseSpec
from mic.http._render import render_response


def test_cookies_are_secure_by_default() -> None:
    assert (
        HttpCookieSpec(key="sid", value="abc").render()
        == "sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax"
    )


def test_cookie_attributes_render_in_order() -> None:
    cookie = HttpCookieSpec(
        key="sid",
        value="",
        max_age=0,
        domain="example.com",
        path="/app",
        expires=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        samesite="none",
    )
    assert cookie.render() == (
        "sid=; Max-Age=0; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Domain=example.com; "
        "Path=/app; Secure; HttpOnly; SameSite=None"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "bad name"}, "cookie name 'bad name' is not a valid token"),
        ({"key": ""}, "cookie name '' is not a valid token"),
        ({"value": "a;b"}, "cookie 'c' has characters not allowed"),
        ({"value": "a b"}, "cookie 'c' has characters not allowed"),
        ({"value": 'a"b'}, "cookie 'c' has characters not allowed"),
        ({"samesite": "none", "secure": False}, "SameSite=None requires Secure"),
        ({"samesite": "loose"}, "samesite must be lax, strict or none"),
        ({"path": "/a;Domain=evil"}, "invalid path or domain"),
        ({"domain": "a\nb"}, "invalid path or domain"),
    ],
)
def test_invalid_cookies_are_refused(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"key": "c", "value": "v"} | kwargs
    with pytest.raises(ValueError, match=message):
        HttpCookieSpec(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status_code": 99}, "status_code 99 is not a final HTTP status"),
        ({"status_code": 600}, "status_code 600 is not a final HTTP status"),
        ({"headers": {"X-Bad": "a\r\nSet-Cookie: x=1"}}, "header 'X-Bad' contains a line break"),
        ({"headers": {"X-Nul": "a\0"}}, "header 'X-Nul' contains a line break or NUL"),
        ({"headers": {"Bad Name": "v"}}, "header name 'Bad Name' is not a valid token"),
    ],
)
def test_invalid_responses_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HttpResponseSpec(**kwargs)  # type: ignore[arg-type]


def test_cookie_lists_become_tuples() -> None:
    cookie = HttpCookieSpec(key="a", value="b")
    assert (cookie,) == HttpResponseSpec(cookies=[cookie]).cookies


@pytest.mark.parametrize("status", [100, 101, 199])
def test_interim_statuses_are_not_final_answers(status: int) -> None:
    with pytest.raises(ValueError, match=f"status_code {status} is not a final HTTP status"):
        HttpResponseSpec(status_code=status)


def test_a_response_spec_is_a_frozen_dataclass() -> None:
    spec = HttpResponseSpec(status_code=201, body={"a": 1})
    assert spec == HttpResponseSpec(201, {"a": 1})
    assert {} == spec.headers
    assert (
        "HttpResponseSpec(status_code=201, body={'a': 1}, media_type=None, cookies=(), headers={})"
        == repr(spec)
    )
    assert HttpResponseSpec(status_code=202, body={"a": 1}) == dataclasses.replace(
        spec, status_code=202
    )
    assert ["status_code", "body", "media_type", "cookies", "headers"] == [
        f.name for f in dataclasses.fields(spec)
    ]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'body'"):
        spec.body = None  # type: ignore[misc]
    with pytest.raises(TypeError, match="does not support item assignment"):
        spec.headers["X-A"] = "1"  # type: ignore[index]
    assert hash(HttpResponseSpec(status_code=204)) == hash(HttpResponseSpec(status_code=204))


def test_a_content_type_header_becomes_the_media_type() -> None:
    spec = HttpResponseSpec(body="x", headers={"Content-Type": "text/csv", "X-A": "1"})
    assert ("text/csv", {"X-A": "1"}) == (spec.media_type, spec.headers)


@dataclasses.dataclass(frozen=True, slots=True)
class Created(HttpResponseSpec):
    """A dataclass subclass with its own default status, as a service might write one."""

    status_code: int = 201


@dataclasses.dataclass(frozen=True)
class Tagged(HttpResponseSpec):
    """A dataclass subclass adding a field."""

    tag: str = ""


def test_a_dataclass_subclass_keeps_the_defaults_and_the_checks() -> None:
    created = Created(body={"a": 1}, headers={"Content-Type": "text/csv", "X-A": "1"})
    assert (201, {"a": 1}, "text/csv", {"X-A": "1"}) == (
        created.status_code,
        created.body,
        created.media_type,
        created.headers,
    )
    cookie = HttpCookieSpec(key="a", value="b")
    tagged = Tagged(tag="t", cookies=[cookie])
    assert (200, None, (cookie,), "t") == (
        tagged.status_code,
        tagged.body,
        tagged.cookies,
        tagged.tag,
    )
    assert 202 == dataclasses.replace(created, status_code=202).status_code
    with pytest.raises(ValueError, match="status_code 101 is not a final HTTP status"):
        Tagged(status_code=101)
    with pytest.raises(ValueError, match="header 'X-Bad' contains a line break"):
        dataclasses.replace(created, headers={"X-Bad": "a\r\nb"})


def test_a_content_type_header_in_any_spelling_is_sent_once() -> None:
    headers = {"content-type": "text/csv", "X-A": "1", "Content-Type": "text/csv"}
    spec = HttpResponseSpec(body="x", headers=headers)
    rendered = render_response(spec)
    assert ("text/csv", {"X-A": "1"}) == (spec.media_type, spec.headers)
    assert [b"text/csv"] == [v for k, v in rendered.headers if k == b"content-type"]

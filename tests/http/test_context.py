"""HttpRequestContext, headers, query strings and cookies, usable without any framework."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mic.http import ClientDisconnectedError, Headers, HttpRequestContext, Identity, QueryParams
from mic.http._headers import parse_cookie_header
from mic.model import DomainError, PayloadTooLargeError


def test_headers_are_case_insensitive_and_keep_repeats() -> None:
    headers = Headers.from_mapping([("Accept", "a"), ("X-Trace", "1"), ("x-trace", "2")])
    assert (
        headers["ACCEPT"],
        headers["accept"],
        headers.getall("X-TRACE"),
        headers.getall("none"),
    ) == ("a", "a", ["1", "2"], [])
    assert ("x-trace" in headers, 3 in headers, 2, ["accept", "x-trace"]) == (
        "X-Trace" in headers,
        3 in headers,
        len(headers),
        list(headers),
    )
    assert headers.raw == [(b"accept", b"a"), (b"x-trace", b"1"), (b"x-trace", b"2")]
    assert repr(headers) == "Headers({'accept': 'a', 'x-trace': '1'})"
    with pytest.raises(KeyError, match="missing"):
        headers["missing"]


def test_query_params_keep_repeats_and_blanks() -> None:
    query = QueryParams.parse(b"a=1&a=2&b=&c=x+y&d=%2F")
    assert (
        query["a"],
        query.getall("a"),
        query["b"],
        query["c"],
        query["d"],
        len(query),
    ) == ("1", ["1", "2"], "", "x y", "/", 4)
    assert list(query) == ["a", "b", "c", "d"]
    assert query.getall("zzz") == []
    assert repr(QueryParams.parse("a=1&a=2")) == "QueryParams({'a': ['1', '2']})"


def test_cookie_header_parsing_is_tolerant() -> None:
    assert parse_cookie_header('a=1; junk; =bad; b="x y"; c=; a=2') == {
        "a": "1",
        "b": "x y",
        "c": "",
    }


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z0-9_]{1,10}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9!#$%&'()*+\-./:<=>?@\[\]^_`{|}~]{0,12}", fullmatch=True),
        max_size=6,
    )
)
def test_cookies_round_trip(cookies: dict[str, str]) -> None:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    assert cookies == parse_cookie_header(header)


async def test_a_context_built_by_hand_serves_unit_tests() -> None:
    context = HttpRequestContext(
        method="post",
        path="/x",
        path_params={"id": "1"},
        headers={"Cookie": "a=1", "X-Y": "z"},
        query_string="q=1",
        body=b"{}",
        client=("10.0.0.1", 5),
    )
    assert (
        context.method,
        context.path_params,
        context.headers["x-y"],
        context.query_params["q"],
        context.cookies,
        context.client_host,
    ) == ("POST", {"id": "1"}, "z", "1", {"a": "1"}, "10.0.0.1")
    assert await context.body() == b"{}"
    assert context.query_string == b"q=1"
    assert None is HttpRequestContext(method="GET", path="/").client_host
    assert await HttpRequestContext(method="GET", path="/").body() == b""


def _asgi_context(
    messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]], limit: int = 10
) -> HttpRequestContext:
    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    scope = {"method": "POST", "path": "/", "headers": headers, "query_string": b""}
    return HttpRequestContext.from_asgi(scope, receive, max_body_size=limit)


async def test_body_is_read_once_across_chunks() -> None:
    context = _asgi_context(
        [
            {"type": "http.request", "body": b"ab", "more_body": True},
            {"type": "http.request", "body": b"cd"},
        ],
        [],
    )
    assert (await context.body(), await context.body()) == (b"abcd", b"abcd")


async def test_body_limits_and_disconnects() -> None:
    with pytest.raises(PayloadTooLargeError, match="exceeds the limit of 10 bytes"):
        await _asgi_context([], [(b"content-length", b"11")]).body()
    with pytest.raises(PayloadTooLargeError, match="exceeds the limit of 10 bytes"):
        await _asgi_context(
            [
                {"type": "http.request", "body": b"x" * 6, "more_body": True},
                {"type": "http.request", "body": b"x" * 6},
            ],
            [],
        ).body()
    with pytest.raises(DomainError, match="Content-Length is not a number"):
        await _asgi_context([], [(b"content-length", b"-1")]).body()
    with pytest.raises(ClientDisconnectedError, match=r"^$"):  # raised without a message
        await _asgi_context([{"type": "http.disconnect"}], []).body()


def test_the_spec_accessors_read_headers_cookies_path_and_query() -> None:
    context = HttpRequestContext(
        headers={"X-Tenant": "acme"},
        cookies={"sid": "abc"},
        path_params={"item_id": "7"},
        query_params={"q": "bolt"},
        subject_id="u-1",
    )
    assert ("acme", "abc", "7", "bolt", "u-1") == (
        context.header("x-tenant"),
        context.cookie("sid"),
        context.path_param("item_id"),
        context.query_param("q"),
        context.subject_id,
    )
    assert (None, "d", None, "d", None) == (
        context.header("missing"),
        context.cookie("missing", "d"),
        context.path_param("x"),
        context.query_param("missing", "d"),
        HttpRequestContext().subject_id,
    )
    assert ("GET", "/", "custom") == (
        context.method,
        context.path,
        context.identity.kind if context.identity else None,
    )


def test_query_params_keep_repeats_when_given_as_pairs() -> None:
    context = HttpRequestContext(query_params=[("tag", "a"), ("tag", "b")])
    assert (["a", "b"], "a") == (context.query_params.getall("tag"), context.query_param("tag"))


def test_subject_id_follows_the_identity() -> None:
    identity = Identity(subject="svc-a", kind="service")
    assert "svc-a" == HttpRequestContext(identity=identity).subject_id
    assert "svc-a" == HttpRequestContext(identity=identity, subject_id="svc-a").subject_id


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"query_string": "a=1", "query_params": {"a": "1"}},
            "give query_string or query_params, not both",
        ),
        (
            {"identity": Identity(subject="a", kind="x"), "subject_id": "b"},
            "subject_id and identity.subject disagree",
        ),
    ],
)
def test_contradictory_context_values_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HttpRequestContext(**kwargs)


def test_a_context_from_asgi_reads_the_scope_and_the_route_facts() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {
        "method": "GET",
        "path": "/items/7",
        "path_params": {"item_id": "7"},
        "headers": [(b"x-a", b"1")],
        "query_string": b"q=2",
        "client": ("10.1.2.3", 4000),
        "scheme": "https",
    }
    context = HttpRequestContext.from_asgi(
        scope, receive, route_name="items.get", route_path="/items/{item_id}", max_body_size=9
    )
    assert (
        context.method,
        context.path,
        context.path_params,
        context.client_host,
        context.scheme,
        context.query_string,
        context.query_param("q"),
        context.header("X-A"),
        context.route_name,
        context.route_path,
        context.max_body_size,
    ) == (
        "GET",
        "/items/7",
        {"item_id": "7"},
        "10.1.2.3",
        "https",
        b"q=2",
        "2",
        "1",
        "items.get",
        "/items/{item_id}",
        9,
    )
    bare = HttpRequestContext.from_asgi({"method": "GET", "path": "/", "headers": []}, receive)
    assert (bare.client, bare.scheme, bare.query_string, bare.route_name) == (
        None,
        "http",
        b"",
        "",
    )


async def test_the_pipeline_reads_its_headers_whatever_their_case() -> None:
    # A server that does not lower-case header names: the body limit still applies.
    with pytest.raises(PayloadTooLargeError, match="exceeds the limit of 10 bytes"):
        await _asgi_context([], [(b"Content-Length", b"11")]).body()
    by_hand = HttpRequestContext(headers={"Content-Length": "11"}, max_body_size=10)
    with pytest.raises(PayloadTooLargeError, match="exceeds the limit of 10 bytes"):
        await by_hand.body()

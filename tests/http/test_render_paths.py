"""The renderer's shortcuts answer exactly what the general path answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import math
import uuid
from typing import Any

import pydantic_core
import pytest

from mic.contracts import PageMeta, StrictSchema, wrap_http_success
from mic.http import HttpResponseSpec, HttpRouteSpec, compile_routes
from mic.http._render import encode_json, render_response


class Item(StrictSchema):
    name: str
    at: dt.datetime


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Colour(enum.StrEnum):
    RED = "red"


PAYLOADS = [
    {"id": 1, "name": "w"},
    [Item(name="a", at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))],
    {"id": uuid.UUID(int=7), "price": decimal.Decimal("1.50"), "colour": Colour.RED},
    {"nan": math.nan, "inf": math.inf, "point": Point(1.0, math.nan)},
    None,
    "text",
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("meta", [None, {"page": 2}, PageMeta(next_cursor="c")])
def test_an_envelope_encodes_as_the_model_serializer_does(payload: Any, meta: Any) -> None:
    envelope = wrap_http_success(payload, meta)
    assert pydantic_core.to_json(envelope, inf_nan_mode="null") == encode_json(envelope)


def test_a_str_subclass_body_is_text_and_bytes_are_binary() -> None:
    text = render_response(HttpResponseSpec(body=Colour.RED))
    binary = render_response(HttpResponseSpec(body=bytearray(b"\x00\x01")))
    assert (b"text/plain; charset=utf-8", b"red") == (
        text.header("content-type").encode(),
        text.body,
    )
    assert ("application/octet-stream", b"\x00\x01") == (binary.header("content-type"), binary.body)


async def _answer(handler: Any) -> tuple[int, dict[str, str], bytes]:
    (route,) = compile_routes(
        (HttpRouteSpec(method="GET", path="/x", name="x", category="x", handler=handler),)
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await route({"method": "GET", "path": "/x", "headers": []}, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, sent[1]["body"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            HttpResponseSpec(status_code=201, body=wrap_http_success({"a": 1})),
            (201, "application/json", b'{"success":true,"data":{"a":1},"meta":null}'),
        ),
        (HttpResponseSpec(body=Colour.RED), (200, "text/plain; charset=utf-8", b"red")),
        (HttpResponseSpec(body=b"\x01"), (200, "application/octet-stream", b"\x01")),
        (HttpResponseSpec(status_code=204, body={"a": 1}), (204, None, b"")),
        (
            HttpResponseSpec(body={"a": 1}, media_type="application/x+json"),
            (200, "application/x+json", b'{"a":1}'),
        ),
        (
            HttpResponseSpec(body={"a": 1}, headers={"X-A": "1"}),
            (200, "application/json", b'{"a":1}'),
        ),
        (HttpResponseSpec(body=None), (200, None, b"")),
    ],
)
async def test_every_kind_of_response_spec_renders_through_the_route(
    answer: HttpResponseSpec, expected: tuple[int, str | None, bytes]
) -> None:
    async def handler() -> HttpResponseSpec:
        return answer

    status, headers, body = await _answer(handler)
    assert expected == (status, headers.get("content-type"), body)
    assert str(len(body)) == headers.get("content-length", "0")

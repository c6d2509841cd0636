"""End to end over a real grpc.aio server on loopback: answers, errors, bad input, deadlines."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from decimal import Decimal

import httpx
import pytest
from pydantic import Field

import grpc
from mic import context as mic_context
from mic.client import UpstreamServerError
from mic.contracts import StrictSchema
from mic.grpc import GrpcMethodSpec, GrpcServiceClient, GrpcServiceSpec, authenticated_channel
from mic.model import (
    ConflictError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    TransientError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)
from tests.grpc.service import ERRORS, ROUTES, Color, Gate, Item, NewItem, Part, catalogue


@pytest.fixture(params=["protobuf", "json"])
def wire(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _client(serve, wire: str = "protobuf", gate: Gate | None = None, **options):
    spec = catalogue(gate, wire)
    target = await serve([spec], **options)
    channel = authenticated_channel(target, signer=None, audience="catalogue")
    return GrpcServiceClient(channel, spec, timeout=5.0), channel


async def test_unary_answers_the_model(serve, wire) -> None:
    client, channel = await _client(serve, wire)
    async with channel:
        item = await client.call("GetItem", {"item_id": 1})
        created = await client.call(
            "CreateItem", NewItem(name="desk", price=Decimal("99.5"), tags=["office"])
        )
    assert (
        Item(
            id=1,
            name="lamp",
            price=Decimal("19.90"),
            color=Color.BLUE,
            added=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            tags=["home", "light"],
            parts=[Part(sku="bulb", count=2)],
            stock={"paris": 3},
            attributes={"watts": 40, "dimmable": True},
        )
        == item
    )
    assert Item(id=2, name="desk", price=Decimal("99.5"), tags=["office"]) == created


async def _collect(client, upto: int, into: list) -> None:
    async for part in client.stream("Count", {"upto": upto}):
        into.append(part)  # noqa: PERF401 - keeps what arrived before an error


async def test_server_streaming_and_its_error(serve, wire) -> None:
    client, channel = await _client(serve, wire)
    complete: list[Part] = []
    partial: list[Part] = []
    async with channel:
        await _collect(client, 2, complete)
        with pytest.raises(ConflictError, match="Three is enough"):
            await _collect(client, 5, partial)
    assert [Part(sku="p0", count=0), Part(sku="p1", count=1)] == complete
    assert [Part(sku=f"p{n}", count=n) for n in range(3)] == partial


@pytest.mark.parametrize(
    ("kind", "error_class", "status", "code"),
    [
        ("bad", DomainError, grpc.StatusCode.INVALID_ARGUMENT, "bad_thing"),
        ("validation", ValidationFailedError, grpc.StatusCode.INVALID_ARGUMENT, "invalid_item"),
        ("unauthorized", UnauthorizedError, grpc.StatusCode.UNAUTHENTICATED, "unauthorized"),
        ("forbidden", ForbiddenError, grpc.StatusCode.PERMISSION_DENIED, "forbidden"),
        ("missing", NotFoundError, grpc.StatusCode.NOT_FOUND, "item_not_found"),
        ("conflict", ConflictError, grpc.StatusCode.ABORTED, "conflict"),
        (
            "too_large",
            PayloadTooLargeError,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "payload_too_large",
        ),
        (
            "media",
            UnsupportedMediaTypeError,
            grpc.StatusCode.INVALID_ARGUMENT,
            "unsupported_media_type",
        ),
        ("rate", RateLimitedError, grpc.StatusCode.RESOURCE_EXHAUSTED, "rate_limited"),
        ("transient", TransientError, grpc.StatusCode.UNAVAILABLE, "temporarily_unavailable"),
        ("crash", UpstreamServerError, grpc.StatusCode.INTERNAL, "internal_error"),
    ],
)
async def test_every_domain_error_crosses_with_its_status(
    serve, kind, error_class, status, code
) -> None:
    client, channel = await _client(serve)
    # The handler's message crosses as is; a crash crosses as a generic one (no internals).
    message = "Internal server error" if kind == "crash" else ERRORS[kind].message
    async with channel:
        with pytest.raises(error_class, match=f"^{re.escape(message)}$") as caught:
            await client.call("Fail", {"kind": kind})
    error = caught.value
    assert (type(error), error.code) == (error_class, code)
    cause = error.__cause__
    assert status == cause.code()
    if kind == "crash":
        assert "password" not in str(cause.details()) + str(error.message)
    if kind == "missing":
        assert ("No such item", {"id": 9}) == (error.message, error.details)
    if kind == "rate":
        assert (7, "7") == (error.retry_after, error.headers["Retry-After"])


async def test_unknown_method_is_unimplemented(serve) -> None:
    target = await serve([catalogue()])
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary("/shop.v1.Catalogue/Nope")
        with pytest.raises(grpc.aio.AioRpcError, match="Method not found") as caught:
            await call(b"")
    assert grpc.StatusCode.UNIMPLEMENTED == caught.value.code()


@pytest.mark.parametrize(
    ("payload", "code", "loc", "details"),
    [
        (b"\xff\xff\xff", "malformed_message", None, "The request is not a valid protobuf message"),
        # item_id=1, then unknown field 100
        (b"\x08\x01\xa0\x06\x05", "validation_failed", [100], "The request is not valid"),
        # field 1 as a string: wrong wire type
        (b"\x0a\x03abc", "validation_failed", [1], "The request is not valid"),
    ],
)
async def test_bad_protobuf_input_is_invalid_argument(serve, payload, code, loc, details) -> None:
    target = await serve([catalogue()])
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary("/shop.v1.Catalogue/GetItem")
        # AioRpcError's message is its repr, which quotes the status details.
        with pytest.raises(grpc.aio.AioRpcError, match=f'details = "{details}"') as caught:
            await call(payload)
    from mic.grpc import error_from_rpc_error

    assert grpc.StatusCode.INVALID_ARGUMENT == caught.value.code()
    error = error_from_rpc_error(caught.value)
    assert code == error.code
    if loc is not None:
        assert loc == error.details["errors"][0]["loc"]


async def test_missing_required_field_is_invalid_argument(serve) -> None:
    target = await serve([catalogue()])
    async with grpc.aio.insecure_channel(target) as channel:
        match = 'details = "The request is not valid"'
        with pytest.raises(grpc.aio.AioRpcError, match=match) as caught:
            await channel.unary_unary("/shop.v1.Catalogue/GetItem")(b"")
    from mic.grpc import error_from_rpc_error

    error = error_from_rpc_error(caught.value)
    assert (
        ValidationFailedError,
        [{"loc": ["item_id"], "type": "missing", "msg": "Field required"}],
    ) == (type(error), error.details["errors"])


@pytest.mark.parametrize(
    ("payload", "code", "error_type", "details"),
    [
        (b"{not json", "malformed_message", None, "The request is not valid JSON"),
        (b'{"item_id": "1"}', "validation_failed", "int_type", "The request is not valid"),
        (
            b'{"item_id": 1, "extra": true}',
            "validation_failed",
            "extra_forbidden",
            "The request is not valid",
        ),
    ],
)
async def test_bad_json_input_is_invalid_argument(
    serve, payload, code, error_type, details
) -> None:
    target = await serve([catalogue(wire="json")])
    async with grpc.aio.insecure_channel(target) as channel:
        with pytest.raises(grpc.aio.AioRpcError, match=f'details = "{details}"') as caught:
            await channel.unary_unary("/shop.v1.Catalogue/GetItem")(payload)
    from mic.grpc import error_from_rpc_error

    error = error_from_rpc_error(caught.value)
    assert (grpc.StatusCode.INVALID_ARGUMENT, code) == (caught.value.code(), error.code)
    if error_type is not None:
        assert error_type == error.details["errors"][0]["type"]


async def test_deadline_exceeded_cancels_the_handler(serve) -> None:
    gate = Gate()
    client, channel = await _client(serve, gate=gate)
    async with channel:
        with pytest.raises(TransientError, match="Deadline") as caught:
            await client.call("Wait", {"name": "x"}, timeout=0.2)
        await asyncio.wait_for(gate.cancelled.wait(), 5)
    assert ("deadline_exceeded", grpc.StatusCode.DEADLINE_EXCEEDED) == (
        caught.value.code,
        caught.value.__cause__.code(),
    )


async def test_header_parameters_correlation_and_trace_come_from_metadata(serve) -> None:
    client, channel = await _client(serve)
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    id_token = mic_context.correlation_id.set("req-42")
    trace_token = mic_context.traceparent.set(trace)
    try:
        async with channel:
            answer = await client.call("WhoAmI", {}, metadata=[("x-tenant", "acme")])
    finally:
        mic_context.traceparent.reset(trace_token)
        mic_context.correlation_id.reset(id_token)
    assert {"subject": None, "scopes": [], "tenant": "acme", "correlation_id": "req-42"} == answer


async def test_the_shared_handler_answers_the_same_data_over_http_and_grpc(
    serve, framework, wire
) -> None:
    if framework == "fastapi":
        from mic.fastapi import build_fastapi_app

        app = build_fastapi_app(routes=ROUTES)
    else:
        from mic.litestar import build_litestar_app

        app = build_litestar_app(routes=ROUTES)
    client, channel = await _client(serve, wire)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
        channel,
    ):
        over_http = (await http.get("/items/1")).json()
        created_http = (await http.post("/items", json={"name": "desk", "price": "99.5"})).json()
        missing_http = (await http.get("/items/9")).json()
        over_grpc = await client.call("GetItem", {"item_id": 1})
        created_grpc = await client.call("CreateItem", {"name": "desk", "price": "99.5"})
        with pytest.raises(NotFoundError, match=r"^No item 9$") as caught:
            await client.call("GetItem", {"item_id": 9})
    assert over_http == over_grpc.model_dump(mode="json")
    assert created_http == created_grpc.model_dump(mode="json")
    assert (missing_http["code"], missing_http["detail"], missing_http["details"]) == (
        caught.value.code,
        caught.value.message,
        caught.value.details,
    )


async def test_failures_echo_the_correlation_id(serve) -> None:
    client, channel = await _client(serve)
    token = mic_context.correlation_id.set("req-7")
    try:
        async with channel:
            with pytest.raises(NotFoundError, match=r"^No item 9$") as sent:
                await client.call("GetItem", {"item_id": 9})
    finally:
        mic_context.correlation_id.reset(token)
    client, channel = await _client(serve)
    async with channel:
        with pytest.raises(NotFoundError, match=r"^No item 9$") as generated:
            await client.call("GetItem", {"item_id": 9})
    echoed = dict(sent.value.__cause__.trailing_metadata())["x-request-id"]
    new = dict(generated.value.__cause__.trailing_metadata())["x-request-id"]
    assert ("req-7", 32) == (echoed, len(new))


class Aliased(StrictSchema):
    full_name: str = Field(alias="fullName")


async def echo_aliased(*, payload: Aliased) -> Aliased:
    return payload


async def test_aliased_fields_cross_both_wires(serve, wire) -> None:
    """protobuf fields keep Python names; JSON keeps the aliases, as HTTP does."""
    spec = GrpcServiceSpec(
        name="A",
        package="a.v1",
        wire=wire,
        methods=(GrpcMethodSpec(name="Echo", handler=echo_aliased),),
    )
    target = await serve([spec])
    async with authenticated_channel(target, signer=None, audience="a") as channel:
        answer = await GrpcServiceClient(channel, spec).call("Echo", {"fullName": "Ada"})
        raw = await channel.unary_unary("/a.v1.A/Echo")(
            Aliased(fullName="Bob").model_dump_json(by_alias=True).encode()
            if wire == "json"
            else b"\x0a\x03Bob"
        )
    assert "Ada" == answer.full_name
    assert (b'{"fullName":"Bob"}' if wire == "json" else b"\x0a\x03Bob") == raw

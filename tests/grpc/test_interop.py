"""Hand-written grpcio servicers: the auth interceptor guards them too, and their errors map."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest

import grpc
from mic.auth import ServiceAuthSigner
from mic.grpc import (
    PROBLEM_METADATA,
    GrpcMethodSpec,
    GrpcServiceClient,
    GrpcServiceSpec,
    ServiceAuthServerInterceptor,
    authenticated_channel,
    error_from_rpc_error,
    remaining_time,
    status_code_for,
)
from mic.grpc._servicer import identity_var
from mic.http import Header
from mic.model import DomainError, NotFoundError, TransientError, ValidationFailedError
from tests.auth.keys import key
from tests.grpc.service import catalogue


def _subject() -> str:
    identity = identity_var.get()
    return identity.subject if identity else "nobody"


async def _unary(request: bytes, context: Any) -> bytes:
    if request == b"missing":
        await context.abort(grpc.StatusCode.NOT_FOUND, "gone")
    if request == b"garbage":
        await context.abort(grpc.StatusCode.ABORTED, "odd", ((PROBLEM_METADATA, b"{nope"),))
    return _subject().encode()


def _sync_unary(request: bytes, context: Any) -> bytes:
    return b"sync:" + _subject().encode()


async def _stream(request: bytes, context: Any) -> Any:
    for _ in range(2):
        yield _subject().encode()


def _sync_stream(request: bytes, context: Any) -> Any:
    yield b"sync:" + _subject().encode()


async def _client_stream(requests: Any, context: Any) -> bytes:
    return b"+".join([r async for r in requests]) + b":" + _subject().encode()


async def _bidi(requests: Any, context: Any) -> Any:
    async for request in requests:
        yield request + b":" + _subject().encode()


HANDLERS = {
    "Unary": grpc.unary_unary_rpc_method_handler(_unary),
    "SyncUnary": grpc.unary_unary_rpc_method_handler(_sync_unary),
    "Stream": grpc.unary_stream_rpc_method_handler(_stream),
    "SyncStream": grpc.unary_stream_rpc_method_handler(_sync_stream),
    "ClientStream": grpc.stream_unary_rpc_method_handler(_client_stream),
    "Bidi": grpc.stream_stream_rpc_method_handler(_bidi),
}


@pytest.fixture
async def hand_written(verifier) -> Any:
    server = grpc.aio.server(interceptors=[ServiceAuthServerInterceptor(verifier)])
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("raw.Raw", HANDLERS),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)


async def test_every_handler_kind_sees_the_identity(hand_written, signer) -> None:
    async with authenticated_channel(hand_written, signer=signer, audience="catalogue") as channel:
        unary = await channel.unary_unary("/raw.Raw/Unary")(b"x")
        sync_unary = await channel.unary_unary("/raw.Raw/SyncUnary")(b"x")
        stream = [m async for m in channel.unary_stream("/raw.Raw/Stream")(b"x")]
        sync_stream = [m async for m in channel.unary_stream("/raw.Raw/SyncStream")(b"x")]
        client_stream = await channel.stream_unary("/raw.Raw/ClientStream")(iter([b"a", b"b"]))
        bidi = [m async for m in channel.stream_stream("/raw.Raw/Bidi")(iter([b"a"]))]
    assert (
        b"orders",
        b"sync:orders",
        [b"orders"] * 2,
        [b"sync:orders"],
        b"a+b:orders",
        [b"a:orders"],
    ) == (unary, sync_unary, stream, sync_stream, client_stream, bidi)


async def _never_sending() -> Any:
    """A request stream that stays open: the refusal cannot race the client's half-close."""
    await asyncio.Event().wait()
    yield b"x"  # pragma: no cover - never reached


async def _refused(channel: Any, method: str) -> Any:
    path = f"/raw.Raw/{method}"
    if method == "Unary":
        return await channel.unary_unary(path)(b"x")
    if method == "ClientStream":
        return await channel.stream_unary(path)(_never_sending())
    call = (
        channel.unary_stream(path)(b"x")
        if method == "Stream"
        else channel.stream_stream(path)(_never_sending())
    )
    return [m async for m in call]


@pytest.mark.parametrize("method", ["Unary", "Stream", "ClientStream", "Bidi"])
async def test_every_handler_kind_is_refused_without_a_token(hand_written, method) -> None:
    async with grpc.aio.insecure_channel(hand_written) as channel:
        # AioRpcError's message is its repr, which quotes the status details.
        match = 'details = "This method needs a service token"'
        with pytest.raises(grpc.aio.AioRpcError, match=match) as caught:
            await _refused(channel, method)
    assert (grpc.StatusCode.UNAUTHENTICATED, "missing_credentials") == (
        caught.value.code(),
        error_from_rpc_error(caught.value).code,
    )


async def test_errors_without_a_problem_map_by_status(hand_written, signer) -> None:
    async with authenticated_channel(hand_written, signer=signer, audience="catalogue") as channel:
        with pytest.raises(grpc.aio.AioRpcError, match='details = "gone"') as missing:
            await channel.unary_unary("/raw.Raw/Unary")(b"missing")
        with pytest.raises(grpc.aio.AioRpcError, match='details = "odd"') as garbage:
            await channel.unary_unary("/raw.Raw/Unary")(b"garbage")
    not_found, conflict = error_from_rpc_error(missing.value), error_from_rpc_error(garbage.value)
    assert (NotFoundError, "gone", "conflict") == (
        type(not_found),
        not_found.message,
        conflict.code,
    )


def test_status_codes_for_unlisted_statuses() -> None:
    class TeapotError(DomainError):
        http_status_code = 418

    class StorageError(DomainError):
        http_status_code = 507

    assert (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL) == (
        status_code_for(TeapotError()),
        status_code_for(StorageError()),
    )


async def remaining(*, hop: int) -> dict[str, Any]:
    return {"here": remaining_time(), "hop": float(hop)}


RELAY_TARGET: dict[str, str] = {}


async def relay(*, hop: int) -> dict[str, Any]:
    """Call `Remaining` on another server without a timeout: the deadline travels anyway."""
    before = remaining_time()
    spec = GrpcServiceSpec(
        name="Clock",
        package="clock.v1",
        methods=(GrpcMethodSpec(name="Remaining", handler=remaining),),
    )
    async with authenticated_channel(
        RELAY_TARGET["target"], signer=None, audience="clock"
    ) as channel:
        inner = await GrpcServiceClient(channel, spec, timeout=None).call(
            "Remaining", {"hop": hop + 1}
        )
    return {"here": before, "inner": inner["here"]}


async def test_deadlines_travel_through_nested_calls(serve) -> None:
    clock = GrpcServiceSpec(
        name="Clock",
        package="clock.v1",
        methods=(
            GrpcMethodSpec(name="Remaining", handler=remaining),
            GrpcMethodSpec(name="Relay", handler=relay),
        ),
    )
    RELAY_TARGET["target"] = await serve([clock])
    async with authenticated_channel(
        RELAY_TARGET["target"], signer=None, audience="clock"
    ) as channel:
        answer = await GrpcServiceClient(channel, clock, timeout=30).call("Relay", {"hop": 0})
        unbounded = await GrpcServiceClient(channel, clock, timeout=None).call(
            "Remaining", {"hop": 0}
        )
    # Without propagation the inner call would have no deadline at all (None). grpcio reads
    # its clock lazily (a busy box makes it lag) and rounds timeouts on the wire, hence the
    # tolerance.
    assert 0 < answer["inner"] <= answer["here"] + 0.5
    assert answer["here"] <= 30 + 0.5
    assert unbounded["here"] is None
    assert remaining_time() is None


async def tenant(
    *, x_ids: Annotated[list[int], Header()], x_mode: Annotated[str, Header()]
) -> dict[str, Any]:
    return {"ids": x_ids, "mode": x_mode}


async def test_header_parameters_are_validated(serve) -> None:
    spec = GrpcServiceSpec(
        name="T", package="t.v1", methods=(GrpcMethodSpec(name="Tenant", handler=tenant),)
    )
    target = await serve([spec])
    async with authenticated_channel(target, signer=None, audience="t") as channel:
        client = GrpcServiceClient(channel, spec)
        ok = await client.call(
            "Tenant", {}, metadata=[("x-ids", "1"), ("x-ids", "2"), ("x-mode", "a")]
        )
        with pytest.raises(ValidationFailedError, match=r"^The request is not valid$") as caught:
            await client.call("Tenant", {}, metadata=[("x-ids", "one")])
    assert {"ids": [1, 2], "mode": "a"} == ok
    assert [["metadata", "x-ids", 0], ["metadata", "x-mode"]] == [
        e["loc"] for e in caught.value.details["errors"]
    ]


async def broken_stream(*, n: int) -> Any:
    yield {"sku": "a", "count": n}
    raise RuntimeError("internal detail")


broken_stream.__annotations__["return"] = "AsyncIterator[Part]"


async def test_a_crashing_stream_ends_with_internal(serve) -> None:
    from collections.abc import AsyncIterator

    from tests.grpc.service import Part

    broken_stream.__annotations__["return"] = AsyncIterator[Part]
    spec = GrpcServiceSpec(
        name="B", package="b.v1", methods=(GrpcMethodSpec(name="Go", handler=broken_stream),)
    )
    target = await serve([spec])
    received: list[Any] = []
    async with authenticated_channel(target, signer=None, audience="b") as channel:
        with pytest.raises(DomainError, match="Internal server error") as caught:
            await _drain(GrpcServiceClient(channel, spec).stream("Go", {"n": 1}), received)
    assert ([Part(sku="a", count=1)], "internal_error") == (received, caught.value.code)


async def _drain(stream: Any, into: list[Any]) -> None:
    async for item in stream:
        into.append(item)  # noqa: PERF401 - keeps what arrived before the error


async def test_a_secure_channel_signs_too(signer) -> None:
    channel = authenticated_channel(
        "127.0.0.1:1", signer=signer, audience="x", credentials=grpc.ssl_channel_credentials()
    )
    await channel.close()
    with pytest.raises(ValueError, match="audience"):
        authenticated_channel("127.0.0.1:1", signer=signer, audience="")


async def test_a_transient_verifier_failure_is_unavailable(serve, signer) -> None:
    from mic.auth import ServiceAuthVerifier

    class Down(ServiceAuthVerifier):
        async def verify(self, token: str) -> Any:
            raise TransientError("jwks_unavailable", "Keys cannot be fetched")

    down = Down(audience="catalogue", issuers=["orders"], keys=key("HS256"))
    target = await serve([catalogue()], auth=ServiceAuthServerInterceptor(down))
    async with authenticated_channel(
        target, signer=ServiceAuthSigner(issuer="orders", keys=key("HS256")), audience="catalogue"
    ) as channel:
        with pytest.raises(TransientError, match=r"^Keys cannot be fetched$") as caught:
            await GrpcServiceClient(channel, catalogue()).call("GetItem", {"item_id": 1})
    assert ("jwks_unavailable", grpc.StatusCode.UNAVAILABLE) == (
        caught.value.code,
        caught.value.__cause__.code(),
    )


async def test_server_options_are_passed(serve) -> None:
    target = await serve([catalogue()], max_message_size=64, options=[("grpc.so_reuseport", 0)])
    async with authenticated_channel(target, signer=None, audience="catalogue") as channel:
        with pytest.raises(DomainError, match="Received message larger than max") as caught:
            await GrpcServiceClient(channel, catalogue()).call(
                "CreateItem", {"name": "x" * 200, "price": "1"}
            )
    assert grpc.StatusCode.RESOURCE_EXHAUSTED == caught.value.__cause__.code()


async def merge(
    *, document: dict[str, Any], defaults: dict[str, Any] | None = None, strict: bool = False
) -> dict[str, Any]:
    """A dict-in, dict-out handler: free-form JSON objects both ways."""
    return {**(defaults or {}), **document, "strict": strict}


@pytest.mark.parametrize("wire", ["protobuf", "json"])
async def test_dict_in_dict_out_servicers(serve, wire) -> None:
    spec = GrpcServiceSpec(
        name="D", package="d.v1", wire=wire, methods=(GrpcMethodSpec(name="Merge", handler=merge),)
    )
    target = await serve([spec])
    async with authenticated_channel(target, signer=None, audience="d") as channel:
        client = GrpcServiceClient(channel, spec)
        merged = await client.call(
            "Merge", {"document": {"a": [1, {"b": None}]}, "defaults": {"c": 1.5}}
        )
        bad = b'{"document": {"a": 1}, "strict": "yes"}' if wire == "json" else b""
        with pytest.raises(grpc.aio.AioRpcError, match='"The request is not valid"') as caught:
            await channel.unary_unary("/d.v1.D/Merge")(bad)
    assert {"a": [1, {"b": None}], "c": 1.5, "strict": False} == merged
    error = error_from_rpc_error(caught.value)
    assert (ValidationFailedError, ["strict"] if wire == "json" else ["document"]) == (
        type(error),
        error.details["errors"][0]["loc"],
    )

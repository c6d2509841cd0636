"""Service auth on both sides, health following readiness, reflection, the emitted .proto."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import grpc
from mic.auth import ServiceAuthSigner, ServiceAuthVerifier
from mic.grpc import (
    GrpcHealthService,
    GrpcServiceClient,
    ServiceAuthServerInterceptor,
    authenticated_channel,
    proto_files,
)
from mic.healthcheck import Probe, ReadinessChecker
from mic.model import ForbiddenError, UnauthorizedError
from tests.auth.keys import key
from tests.grpc.service import catalogue


async def _call(target, signer, method="WhoAmI", scopes=(), audience="catalogue", request=None):
    spec = catalogue()
    async with authenticated_channel(
        target, signer=signer, audience=audience, scopes=scopes
    ) as channel:
        return await GrpcServiceClient(channel, spec).call(method, request or {})


async def test_a_signed_call_reaches_the_handler_with_its_identity(serve, signer, verifier) -> None:
    target = await serve(
        [catalogue()], auth=ServiceAuthServerInterceptor(verifier, scopes=["items:read"])
    )
    answer = await _call(target, signer, scopes=["items:read"])
    assert ("orders", ["items:read"]) == (answer["subject"], answer["scopes"])


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        ("absent", "missing_credentials", "This method needs a service token"),
        ("expired", "token_expired", "The token has expired"),
        ("other_audience", "token_wrong_audience", "The token is not meant for 'catalogue'"),
        ("bad_signature", "token_bad_signature", "No key with id 'k2' is known"),
        ("garbage", "token_malformed", "The token is not a compact JWS"),
        ("basic", "wrong_auth_scheme", "This method needs a Bearer token"),
    ],
)
async def test_bad_tokens_are_unauthenticated(serve, verifier, case, code, message) -> None:
    target = await serve([catalogue()], auth=ServiceAuthServerInterceptor(verifier))
    tokens = {
        "expired": ServiceAuthSigner(
            issuer="orders", keys=key("HS256"), clock=lambda: 1_000_000.0
        ).sign("catalogue"),
        "other_audience": ServiceAuthSigner(issuer="orders", keys=key("HS256")).sign("billing"),
        "bad_signature": ServiceAuthSigner(issuer="orders", keys=key("HS256", "k2")).sign(
            "catalogue"
        ),
        "garbage": "not-a-token",
    }
    metadata = []
    if case == "basic":
        metadata = [("authorization", "Basic dXNlcjpwYXNz")]
    elif case in tokens:
        metadata = [("authorization", f"Bearer {tokens[case]}")]
    async with grpc.aio.insecure_channel(target) as channel:
        client = GrpcServiceClient(channel, catalogue())
        with pytest.raises(UnauthorizedError, match=f"^{re.escape(message)}$") as caught:
            await client.call("WhoAmI", {}, metadata=metadata)
    assert (code, grpc.StatusCode.UNAUTHENTICATED) == (
        caught.value.code,
        caught.value.__cause__.code(),
    )


async def test_wrong_issuer_or_missing_scope_is_permission_denied(serve, verifier) -> None:
    auth = ServiceAuthServerInterceptor(verifier, issuers=["billing"])
    target = await serve([catalogue()], auth=auth)
    with pytest.raises(ForbiddenError, match=r"^This caller may not use this method$") as issuer:
        await _call(target, ServiceAuthSigner(issuer="orders", keys=key("HS256")))
    target = await serve([catalogue()], auth=ServiceAuthServerInterceptor(verifier))
    signer = ServiceAuthSigner(issuer="orders", keys=key("HS256"))
    with pytest.raises(ForbiddenError, match=r"^The caller lacks a scope this method") as scope:
        await _call(target, signer, method="Scoped", request={"item_id": 1})
    item = await _call(
        target, signer, method="Scoped", request={"item_id": 1}, scopes=["items:admin"]
    )
    assert ("issuer_not_allowed", "insufficient_scope", ["items:admin"], 1) == (
        issuer.value.code,
        scope.value.code,
        scope.value.details["missing_scopes"],
        item.id,
    )
    assert grpc.StatusCode.PERMISSION_DENIED == scope.value.__cause__.code()


async def test_a_failing_verifier_fails_closed(serve, verifier, signer) -> None:
    class Broken(ServiceAuthVerifier):
        async def verify(self, token):
            raise RuntimeError("boom")

    broken = Broken(audience="catalogue", issuers=["orders"], keys=key("HS256"))
    target = await serve([catalogue()], auth=ServiceAuthServerInterceptor(broken))
    with pytest.raises(Exception, match="Authentication failed") as caught:
        await _call(target, signer)
    assert grpc.StatusCode.INTERNAL == caught.value.__cause__.code()


async def test_the_client_reuses_one_token(signer) -> None:
    from mic.grpc import ServiceAuthClientInterceptor

    interceptor = ServiceAuthClientInterceptor(signer, "catalogue")
    assert interceptor.tokens.token() == interceptor.tokens.token()


def test_interceptor_refuses_untrusted_issuers_and_strings(verifier) -> None:
    with pytest.raises(ValueError, match="not trusted"):
        ServiceAuthServerInterceptor(verifier, issuers=["stranger"])
    with pytest.raises(TypeError, match="not one string"):
        ServiceAuthServerInterceptor(verifier, issuers="orders")


async def test_health_follows_readiness_and_needs_no_token(serve, verifier) -> None:
    state = {"up": True}
    checker = ReadinessChecker([Probe("db", lambda: state["up"])])
    health = GrpcHealthService(checker, services=["shop.v1.Catalogue"])
    target = await serve([catalogue()], auth=ServiceAuthServerInterceptor(verifier), health=health)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        first = await stub.Check(health_pb2.HealthCheckRequest(service=""))
        state["up"] = False
        second = await stub.Check(health_pb2.HealthCheckRequest(service="shop.v1.Catalogue"))
        watch = stub.Watch(health_pb2.HealthCheckRequest(service=""))
        seen = [(await watch.read()).status]
        state["up"] = True
        await health.refresh()
        seen.append((await watch.read()).status)
        watch.cancel()
        await health.stop()
        after_stop = await stub.Check(health_pb2.HealthCheckRequest(service=""))
    serving, not_serving = (
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    )
    assert (serving, not_serving, [not_serving, serving], not_serving) == (
        first.status,
        second.status,
        seen,
        after_stop.status,
    )


async def test_health_background_refresh(serve) -> None:
    checker = ReadinessChecker([Probe("db", lambda: True)])
    health = GrpcHealthService(checker, interval=0.01)
    refreshed = asyncio.Event()
    original = health.refresh

    async def counting() -> bool:
        refreshed.set()
        return await original()

    health.refresh = counting  # type: ignore[method-assign]
    health.start()
    await asyncio.wait_for(refreshed.wait(), 5)
    await health.stop()
    with pytest.raises(ValueError, match="interval"):
        GrpcHealthService(checker, interval=0)


async def test_reflection_lists_the_services(serve) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    health = GrpcHealthService(ReadinessChecker([]))
    target = await serve([catalogue()], health=health, reflection=True)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        responses = stub.ServerReflectionInfo(iter([request]))
        answer = await responses.read()
        names = sorted(s.name for s in answer.list_services_response.service)
        request = reflection_pb2.ServerReflectionRequest(file_containing_symbol="shop.v1.Catalogue")
        files = await stub.ServerReflectionInfo(iter([request])).read()
    assert [
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "shop.v1.Catalogue",
    ] == names
    assert files.file_descriptor_response.file_descriptor_proto


def test_protoc_compiles_the_emitted_proto_to_the_servers_descriptors(tmp_path) -> None:
    """Another language's client works from the .proto: protoc reads it back identically."""
    from google.protobuf import descriptor_pb2

    from mic.grpc._contract import compile_method
    from mic.grpc._protobuf import ProtoSchema

    spec = catalogue()
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "v1.proto").write_text(proto_files(spec)["shop/v1.proto"])
    out = tmp_path / "set.pb"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{tmp_path}",
            f"--descriptor_set_out={out}",
            "shop/v1.proto",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert 0 == result.returncode, result.stderr
    compiled = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]
    for message in compiled.message_type:
        for field in [*message.field, *(f for nested in message.nested_type for f in nested.field)]:
            field.ClearField("json_name")  # protoc fills it in; it is derived from the name
    ours = ProtoSchema([(spec, [compile_method(spec, m) for m in spec.methods])]).files[
        "shop/v1.proto"
    ]
    assert ours == compiled

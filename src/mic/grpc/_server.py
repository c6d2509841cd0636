"""`build_grpc_server`: a ``grpc.aio.Server`` serving service specs, auth and health wired in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mic._deps import require
from mic.grpc._contract import MethodContract, compile_method
from mic.grpc._proto_text import render_proto
from mic.grpc._protobuf import ProtoSchema
from mic.grpc._servicer import MethodServer
from mic.grpc._specs import GrpcServiceSpec, GrpcSpecError

require("grpc", "grpc")

import grpc.aio  # noqa: E402

import grpc  # noqa: E402


def _compile(
    services: Sequence[GrpcServiceSpec],
) -> tuple[list[tuple[GrpcServiceSpec, list[MethodContract]]], ProtoSchema | None]:
    names = [s.full_name for s in services]
    if len(set(names)) != len(names):
        raise GrpcSpecError(f"two services share a full name: {sorted(names)}")
    compiled = [(s, [compile_method(s, m) for m in s.methods]) for s in services]
    protobuf = [(s, c) for s, c in compiled if s.wire == "protobuf"]
    return compiled, (ProtoSchema(protobuf) if protobuf else None)


def proto_files(*services: GrpcServiceSpec) -> dict[str, str]:
    """The ``.proto`` source of protobuf-wire services, one file per package.

    Other languages generate their clients from these (``protoc``, ``buf``); the server
    builds the very same descriptors at startup.

    Raises:
        GrpcSpecError: A spec cannot be served over gRPC.
    """
    compiled, schema = _compile(services)
    if schema is None:
        return {}
    descriptions: dict[str, str | None] = {}
    for service, contracts in compiled:
        descriptions[service.name] = service.description
        for contract in contracts:
            descriptions[f"{service.name}.{contract.spec.name}"] = contract.spec.description
    return {name: render_proto(file, descriptions) for name, file in schema.files.items()}


def build_grpc_server(
    services: Sequence[GrpcServiceSpec],
    *,
    auth: Any,
    health: Any = None,
    reflection: bool = False,
    interceptors: Iterable[Any] = (),
    options: Iterable[tuple[str, Any]] = (),
    max_message_size: int = 4 * 1024 * 1024,
) -> Any:
    """A ``grpc.aio.Server`` (not started) serving `services`.

    Args:
        services: The service specs.
        auth: A `ServiceAuthServerInterceptor` (its ``method_scopes`` are completed with the
            specs' method ``scopes``), or ``None`` to serve without authentication: required,
            so that an unauthenticated server is always a visible choice (fail closed).
        health: A `GrpcHealthService`, registered as ``grpc.health.v1.Health``.
        reflection: Register server reflection (``grpc.reflection.v1alpha``) for the
            protobuf services, the health service, and reflection itself.
        interceptors: Further ``grpc.aio.ServerInterceptor``s, after auth.
        options: grpcio server options.
        max_message_size: Largest request or answer, in bytes (``RESOURCE_EXHAUSTED`` beyond).

    Raises:
        GrpcSpecError: A spec cannot be served, or two services share a name.

    Start it with ``server.add_insecure_port(...)`` (or a secure port) and ``await
    server.start()``.
    """
    compiled, schema = _compile(services)
    chain = list(interceptors)
    if auth is not None:
        from mic.grpc._auth import ServiceAuthServerInterceptor

        if not isinstance(auth, ServiceAuthServerInterceptor):
            raise TypeError("auth must be a ServiceAuthServerInterceptor or None")
        scopes = {path: set(extra) for path, extra in auth.method_scopes.items()}
        for _, contracts in compiled:
            for contract in contracts:
                scopes.setdefault(contract.path, set()).update(contract.spec.scopes)
        auth = ServiceAuthServerInterceptor(
            auth.verifier,
            issuers=auth.issuers,
            scopes=auth.scopes,
            method_scopes=scopes,
            public_methods=auth.public_methods,
        )
        chain.insert(0, auth)
    server = grpc.aio.server(
        interceptors=chain or None,
        options=[
            ("grpc.max_receive_message_length", max_message_size),
            ("grpc.max_send_message_length", max_message_size),
            *options,
        ],
    )
    for service, contracts in compiled:
        handlers = {
            c.spec.name: MethodServer(
                c, schema if service.wire == "protobuf" else None
            ).rpc_handler()
            for c in contracts
        }
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(service.full_name, handlers),)
        )
    names = [s.full_name for s, _ in compiled if s.wire == "protobuf"]
    if health is not None:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        names.append(health_pb2.DESCRIPTOR.services_by_name["Health"].full_name)
    if reflection:
        _enable_reflection(server, names, schema)
    return server


def _enable_reflection(server: Any, names: list[str], schema: ProtoSchema | None) -> None:
    reflection = require("grpc_reflection.v1alpha.reflection", "grpc")
    from google.protobuf import descriptor_pool

    pool = schema.pool if schema is not None else descriptor_pool.DescriptorPool()
    # The reflection service describes itself and the health service from the same pool.
    from grpc_health.v1 import health_pb2
    from grpc_reflection.v1alpha import reflection_pb2

    for module in (health_pb2, reflection_pb2):
        try:
            pool.FindFileByName(module.DESCRIPTOR.name)
        except KeyError:
            pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
    reflection.enable_server_reflection((*names, reflection.SERVICE_NAME), server, pool=pool)

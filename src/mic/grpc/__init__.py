"""gRPC transport from the specs: the same handlers as HTTP, with service auth, health, errors.

`GrpcServiceSpec` / `GrpcMethodSpec` describe services (`GrpcMethodSpec.from_route` reuses
an `HttpRouteSpec`'s handler); `build_grpc_server` serves them on ``grpc.aio`` with
protobuf messages generated from the pydantic models (`proto_files` emits the ``.proto``) or
JSON. `ServiceAuthServerInterceptor` / `authenticated_channel` carry `mic.auth` service
tokens; `GrpcServiceClient` calls a service and raises the `DomainError` the server raised;
`GrpcHealthService` follows a `ReadinessChecker`. Needs the ``grpc`` extra, but importing
this package does not: only the specs are loaded until another name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mic.grpc._specs import GrpcMethodSpec, GrpcServiceSpec, GrpcSpecError

if TYPE_CHECKING:
    from mic.grpc._auth import (
        HEALTH_METHODS,
        ServiceAuthClientInterceptor,
        ServiceAuthServerInterceptor,
        authenticated_channel,
    )
    from mic.grpc._client import GrpcServiceClient
    from mic.grpc._errors import (
        PROBLEM_METADATA,
        error_from_rpc_error,
        status_code_for,
    )
    from mic.grpc._health import GrpcHealthService
    from mic.grpc._server import build_grpc_server, proto_files
    from mic.grpc._servicer import remaining_time

__all__ = [
    "HEALTH_METHODS",
    "PROBLEM_METADATA",
    "GrpcHealthService",
    "GrpcMethodSpec",
    "GrpcServiceClient",
    "GrpcServiceSpec",
    "GrpcSpecError",
    "ServiceAuthClientInterceptor",
    "ServiceAuthServerInterceptor",
    "authenticated_channel",
    "build_grpc_server",
    "error_from_rpc_error",
    "proto_files",
    "remaining_time",
    "status_code_for",
]

_LAZY = {
    "HEALTH_METHODS": "_auth",
    "ServiceAuthClientInterceptor": "_auth",
    "ServiceAuthServerInterceptor": "_auth",
    "authenticated_channel": "_auth",
    "GrpcServiceClient": "_client",
    "PROBLEM_METADATA": "_errors",
    "error_from_rpc_error": "_errors",
    "status_code_for": "_errors",
    "GrpcHealthService": "_health",
    "build_grpc_server": "_server",
    "proto_files": "_server",
    "remaining_time": "_servicer",
}


def __getattr__(name: str) -> Any:
    # grpcio and protobuf load on first use of a name that needs them (extra ``grpc``).
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"mic.grpc.{module}"), name)

"""A real ``grpc.aio`` server on loopback, built from the catalogue spec."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mic.auth import ServiceAuthSigner, ServiceAuthVerifier
from mic.grpc import GrpcServiceSpec, build_grpc_server
from tests.auth.keys import key

Serve = Callable[..., Any]


@pytest.fixture
def signer() -> ServiceAuthSigner:
    return ServiceAuthSigner(issuer="orders", keys=key("HS256"))


@pytest.fixture
def verifier() -> ServiceAuthVerifier:
    return ServiceAuthVerifier(
        audience="catalogue", issuers=["orders", "billing"], keys=key("HS256")
    )


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start servers (stopped at the end); returns ``host:port``."""
    servers: list[Any] = []

    async def start(services: list[GrpcServiceSpec], **options: Any) -> str:
        options.setdefault("auth", None)
        server = build_grpc_server(services, **options)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
        return f"127.0.0.1:{port}"

    yield start
    for server in servers:
        await server.stop(None)

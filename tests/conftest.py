"""Shared fixtures: real backing services, found on loopback or skipped with a reason.

Under ``MIC_REQUIRE_SERVICES=1`` (set by ``.ci/run``) a missing service fails the test
instead of skipping it, so CI can never pass by silently testing nothing.
"""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES_URL = os.environ.get("MIC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("MIC_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or fail under MIC_REQUIRE_SERVICES=1) when the service is not listening."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("MIC_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} and MIC_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> str:
    """URL of the real PostgreSQL server (database ``test``)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


@pytest.fixture
def redis_url() -> str:
    """URL of the real Redis server."""
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def nats_url() -> str:
    """URL of the real NATS (JetStream) server."""
    require_service("NATS", "127.0.0.1", 4222)
    return NATS_URL


@pytest.fixture(params=["fastapi", "litestar"])
def framework(request: pytest.FixtureRequest) -> str:
    """Each adapter in turn: a test using it runs once per framework."""
    return str(request.param)


# The fixtures mic-kit offers to services (mic_client, mic_settings, ...), tested here too.
pytest_plugins = ["mic.testing.plugin"]

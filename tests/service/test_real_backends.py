"""A `Service` wired from settings alone, on the real PostgreSQL, Redis and NATS servers."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import pytest

from mic.service import Service, ServiceStartError
from mic.settings import MicSettings
from mic.testing import app_client
from tests.healthcheck.test_backend_probes import ProbedRecord


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _build(settings: MicSettings) -> Service:
    service = Service(settings)
    engine = service.add_resource("database", settings.storage.create_engine, probe=False)
    service.add_resource(
        "storage",
        lambda: settings.storage.build(ProbedRecord, engine=engine.get()),
        depends_on=[engine],
    )
    service.add_resource("eventbus", settings.eventbus.connect)
    service.add_resource("cache", settings.cache.build, close=lambda cache: cache.client.aclose())
    return service


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.nats
async def test_every_server_is_probed_and_a_dead_one_makes_the_service_not_ready(
    postgres_url: str, redis_url: str, nats_url: str, framework: str
) -> None:
    unique = uuid.uuid4().hex[:12]
    sections: dict[str, Any] = {
        "storage": {"url": postgres_url},
        "eventbus": {
            "url": nats_url,
            "stream": f"MIC_SVC_{unique}",
            "subject_prefix": f"s{unique}",
        },
        "cache": {"url": redis_url, "prefix": f"mic-svc-{unique}:"},
    }
    settings = MicSettings.load(env_file=None, **sections)
    async with app_client(_build(settings).build_app(framework)) as client:
        ready = await client.get("/ready")
    assert 200 == ready.status_code
    assert {"storage": "up", "eventbus": "up", "cache": "up"} == {
        name: probe["status"] for name, probe in ready.json()["probes"].items()
    }
    gone = f"redis://127.0.0.1:{_closed_port()}/0"
    broken = MicSettings.load(env_file=None, **{**sections, "cache": {"url": gone}})
    async with app_client(_build(broken).build_app(framework)) as client:
        ready = await client.get("/ready")
    assert 503 == ready.status_code
    assert ("down", "ConnectionError") == (
        ready.json()["probes"]["cache"]["status"],
        ready.json()["probes"]["cache"]["error"],
    )


@pytest.mark.postgres
async def test_an_unreachable_bus_fails_the_start_and_closes_the_database(
    postgres_url: str,
) -> None:
    settings = MicSettings.load(
        env_file=None,
        storage={"url": postgres_url},
        eventbus={"url": f"nats://app:hunter2@127.0.0.1:{_closed_port()}", "connect_timeout": 0.5},
    )
    service = _build(settings)
    with pytest.raises(
        ServiceStartError,
        match=r"starting 'eventbus' failed: ConnectionError: no NATS server answered within 0\.5s",
    ) as info:
        await service.start()
    assert "hunter2" not in str(info.value)
    assert "stopped" == service.state

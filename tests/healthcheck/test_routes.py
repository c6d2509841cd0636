"""/health and /ready as spec routes on both frameworks."""

from __future__ import annotations

import asyncio

from mic.healthcheck import Probe, ReadinessChecker, health_route, readiness_route
from tests.support import make_client, wire


async def _up() -> None:
    return None


async def _down() -> None:
    raise ConnectionError("refused")


async def _hang() -> None:
    await asyncio.Event().wait()


async def test_health_is_ok_without_io(framework: str) -> None:
    async with make_client(framework, (health_route(),)) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_ready_reports_each_probe(framework: str) -> None:
    checker = ReadinessChecker([Probe("db", _up), Probe("cache", _down, required=False)])
    async with make_client(framework, (readiness_route(checker),)) as client:
        response = await client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["probes"]["db"]["status"] == "up"
    assert body["probes"]["cache"] == {
        "status": "down",
        "required": False,
        "error": "ConnectionError",
        "duration_ms": body["probes"]["cache"]["duration_ms"],
    }


async def test_ready_is_503_when_a_required_probe_fails(framework: str) -> None:
    checker = ReadinessChecker([Probe("db", _hang, timeout=0.05)])
    routes = (health_route(path="/livez", name="live"), readiness_route(checker, path="/readyz"))
    async with make_client(framework, routes) as client:
        response = await client.get("/readyz")
        live = await client.get("/livez")
    assert response.status_code == 503
    assert response.json()["probes"]["db"]["status"] == "timeout"
    assert live.status_code == 200


async def test_health_bytes_match_across_frameworks() -> None:
    answers = []
    for framework in ("fastapi", "litestar"):
        async with make_client(framework, (health_route(),)) as client:
            answers.append(wire(await client.get("/health")))
    assert answers[0] == answers[1]

"""The example service behind `make demo`: same API on both frameworks, and it really serves."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from examples.service import create_app

from tests.support import client_for, wire

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"X-Request-ID": "demo-1"}


def _ids() -> itertools.count[int]:
    return itertools.count(1)


def _app(framework: str) -> object:
    counter = _ids()
    return create_app(framework, new_id=lambda: uuid.UUID(int=next(counter)))


async def test_crud_flow_is_identical_on_both_frameworks() -> None:
    first = str(uuid.UUID(int=1))
    transcripts = []
    for framework in ("fastapi", "litestar"):
        async with client_for(_app(framework)) as client:
            steps = [
                await client.post("/items", json={"name": "bolt", "quantity": 3}, headers=HEADERS),
                await client.post("/items", json={"name": "", "quantity": -1}, headers=HEADERS),
                await client.post("/items", json={"name": "nut"}, headers=HEADERS),
                await client.get(f"/items/{first}", headers=HEADERS),
                await client.get("/items?limit=1", headers=HEADERS),
                await client.get("/items?limit=0", headers=HEADERS),
                await client.put(
                    f"/items/{first}",
                    json={"name": "bolt", "quantity": 4, "version": 1},
                    headers=HEADERS,
                ),
                await client.put(
                    f"/items/{first}",
                    json={"name": "bolt", "quantity": 5, "version": 1},
                    headers=HEADERS,
                ),
                await client.delete(f"/items/{first}", headers=HEADERS),
                await client.get(f"/items/{first}", headers=HEADERS),
                await client.delete(f"/items/{first}", headers=HEADERS),
                await client.get("/items/not-a-uuid", headers=HEADERS),
                await client.get("/health", headers=HEADERS),
                await client.get("/ready", headers=HEADERS),
            ]
            cursor = steps[4].json()["meta"]["next_cursor"]
            steps.append(await client.get(f"/items?limit=1&cursor={cursor}", headers=HEADERS))
            steps.append(await client.get("/items?cursor=tampered", headers=HEADERS))
            transcripts.append([wire(r) for r in steps])
    fastapi, litestar = transcripts
    for index, (a, b) in enumerate(zip(fastapi, litestar, strict=True)):
        if index == 13:  # /ready reports measured probe durations: length and body vary
            assert (a[0], [h for h in a[1] if h[0] != "content-length"]) == (
                b[0],
                [h for h in b[1] if h[0] != "content-length"],
            )
            continue
        assert a == b, index
    assert [201, 422, 201, 200, 200, 422, 200, 409, 204, 404, 404, 422, 200, 200, 200, 422] == [
        s for s, _, _ in fastapi
    ]
    assert (
        b'{"success":true,"data":{"id":"00000000-0000-0000-0000-000000000001","version":1,"name":"bolt","quantity":3},"meta":null}'
        == fastapi[0][2]
    )
    assert ("location", f"/items/{first}") in fastapi[0][1]
    assert ("x-request-id", "demo-1") in fastapi[0][1]


async def test_metrics_count_requests_by_route_template(framework: str) -> None:
    async with client_for(_app(framework)) as client:
        await client.get(f"/items/{uuid.UUID(int=7)}")
        metrics = (await client.get("/metrics")).text
    assert (
        'http_server_requests_total{method="GET",route="/items/{item_id}",status_class="4xx"} 1.0'
        in metrics
    )


def test_framework_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIC_HTTP_FRAMEWORK", "django")
    with pytest.raises(
        ValueError, match="MIC_HTTP_FRAMEWORK must be one of fastapi, litestar, not 'django'"
    ):
        create_app()
    monkeypatch.setenv("MIC_HTTP_FRAMEWORK", " Litestar ")
    assert "Litestar" == type(create_app()).__name__


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("framework", ["fastapi", "litestar"])
def test_the_demo_command_serves_the_service_with_docs(framework: str) -> None:
    port = _free_port()
    env = os.environ | {"MIC_HTTP_FRAMEWORK": framework, "MIC_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "-m", "examples.service"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the example did not start within 30 s"
                time.sleep(0.2)
        docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5, follow_redirects=True)
        created = httpx.post(f"http://127.0.0.1:{port}/items", json={"name": "a"}, timeout=5)
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5)
        assert (200, {"status": "ok"}) == (health.status_code, health.json())
        assert (200, "text/html") == (
            docs.status_code,
            docs.headers["content-type"].partition(";")[0],
        )
        assert (201, 200) == (created.status_code, ready.status_code)
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode()
    assert '"message"' in output  # JSON log lines

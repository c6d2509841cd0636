"""The example service behind `make demo`: same API on both frameworks, and it really serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from examples.service import create_app

from tests.support import client_for, wire

ROOT = Path(__file__).resolve().parents[2]


async def test_crud_flow_is_identical_on_both_frameworks() -> None:
    transcripts = []
    for framework in ("fastapi", "litestar"):
        async with client_for(create_app(framework)) as client:
            transcripts.append([wire(r) for r in [
                await client.post("/items", json={"name": "bolt", "quantity": 3}),
                await client.post("/items", json={"name": "bolt"}),
                await client.post("/items", json={"name": 3}),
                await client.get("/items/1"),
                await client.get("/items?limit=10"),
                await client.get("/items?limit=ten"),
                await client.delete("/items/1"),
                await client.get("/items/1"),
                await client.delete("/items/1"),
                await client.get("/health"),
            ]])  # fmt: skip
    fastapi, litestar = transcripts
    assert fastapi == litestar
    assert [status for status, _, _ in fastapi] == [
        201,
        409,
        422,
        200,
        200,
        422,
        204,
        404,
        404,
        200,
    ]
    assert fastapi[0][2] == b'{"data":{"id":1,"name":"bolt","quantity":3},"meta":{}}'
    assert ("location", "/items/1") in fastapi[0][1]


def test_framework_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIC_HTTP_FRAMEWORK", "django")
    with pytest.raises(
        ValueError, match="MIC_HTTP_FRAMEWORK must be one of fastapi, litestar, not 'django'"
    ):
        create_app()
    monkeypatch.setenv("MIC_HTTP_FRAMEWORK", " Litestar ")
    assert type(create_app()).__name__ == "Litestar"


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
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        assert docs.status_code == 200
        assert "text/html" in docs.headers["content-type"]
        assert created.status_code == 201
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()

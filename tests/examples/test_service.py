"""The example service behind `make demo`: same API on both frameworks, and it really serves."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from examples.service import DEMO_DATABASE, DemoSettings, build_service, create_app

from mic.settings import SettingsError
from mic.testing import app_client, memory_settings
from tests.support import free_port, wire

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"X-Request-ID": "demo-1"}


def _ids() -> itertools.count[int]:
    return itertools.count(1)


def _app(framework: str) -> object:
    counter = _ids()
    service = build_service(memory_settings(), new_id=lambda: uuid.UUID(int=next(counter)))
    return service.build_app(framework)


async def test_crud_flow_is_identical_on_both_frameworks() -> None:
    first = str(uuid.UUID(int=1))
    transcripts = []
    for framework in ("fastapi", "litestar"):
        async with app_client(_app(framework)) as client:
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
    async with app_client(_app(framework)) as client:
        await client.get(f"/items/{uuid.UUID(int=7)}")
        metrics = (await client.get("/metrics")).text
    assert (
        'http_server_requests_total{method="GET",route="/items/{item_id}",status_class="4xx"} 1.0'
        in metrics
    )


def test_framework_setting_is_validated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIC_HTTP__FRAMEWORK", "django")
    with pytest.raises(SettingsError, match="MIC_HTTP__FRAMEWORK: Input should be 'fastapi'"):
        create_app()
    monkeypatch.setenv("MIC_HTTP__FRAMEWORK", " Litestar ")
    assert "Litestar" == type(create_app()).__name__


def test_the_demo_stores_items_in_sqlite_by_default(tmp_path: Path) -> None:
    assert "sqlite+aiosqlite:///./mic-demo.db" == DEMO_DATABASE
    settings = DemoSettings.load(env_file=None)
    assert DEMO_DATABASE == settings.storage.url.get_secret_value()


async def test_items_survive_a_restart_and_events_reach_the_consumer(
    tmp_path: Path, framework: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    received: list[str] = []
    arrived = asyncio.Event()

    def on_event(event: object) -> None:
        received.append(event.topic)  # type: ignore[attr-defined]
        arrived.set()

    settings = DemoSettings.load(env_file=None, storage={"url": url})
    async with app_client(
        build_service(settings, on_event=on_event).build_app(framework)
    ) as client:
        created = await client.post("/items", json={"name": "bolt"})
        await asyncio.wait_for(arrived.wait(), timeout=10)
    async with app_client(build_service(settings).build_app(framework)) as client:
        listed = await client.get("/items")
        ready = await client.get("/ready")
    assert 201 == created.status_code
    assert [created.json()["data"]] == listed.json()["data"]
    assert ["items.created"] == received
    assert ["items", "eventbus", "outbox-dispatcher"] == list(ready.json()["probes"])


def _serve(framework: str, port: int, database: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "MIC_HTTP__FRAMEWORK": framework,
        "MIC_HTTP__PORT": str(port),
        "MIC_STORAGE__URL": f"sqlite+aiosqlite:///{database}",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "examples.service"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_until_healthy(server: subprocess.Popen[bytes], port: int) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
        except httpx.TransportError:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "the example did not start within 30 s"
            time.sleep(0.2)  # polling a server another process starts: it cannot signal us


def _wait_for_events(port: int) -> list[dict[str, object]]:
    """The consumer's events once it received one (the outbox publishes after the commit)."""
    deadline = time.monotonic() + 10
    while True:
        events = httpx.get(f"http://127.0.0.1:{port}/events", timeout=5).json()["data"]
        if events or time.monotonic() > deadline:
            return list(events)
        time.sleep(0.05)  # polling another process's state (a deadline above, not a wait)


@pytest.mark.parametrize("framework", ["fastapi", "litestar"])
def test_the_demo_command_serves_the_service_with_docs(framework: str, tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "demo.db"
    server = _serve(framework, port, database)
    try:
        health = _wait_until_healthy(server, port)
        docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5, follow_redirects=True)
        created = httpx.post(f"http://127.0.0.1:{port}/items", json={"name": "a"}, timeout=5)
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5)
        events = _wait_for_events(port)
        assert (200, {"status": "ok"}) == (health.status_code, health.json())
        assert (200, "text/html") == (
            docs.status_code,
            docs.headers["content-type"].partition(";")[0],
        )
        assert (201, 200) == (created.status_code, ready.status_code)
    finally:
        server.terminate()
        output = server.communicate(timeout=15)[0].decode()
    assert '"message"' in output  # JSON log lines
    assert ["items.created"] == [event["topic"] for event in events]
    assert {"id": created.json()["data"]["id"], "name": "a"} == events[0]["payload"]
    assert "consumer received items.created" in output
    assert database.is_file()

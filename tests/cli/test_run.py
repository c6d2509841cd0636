"""``mic run`` with a real uvicorn: it serves, stops on SIGTERM, and ``mic openapi`` matches it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = "tests.cli.sample_service"


def wait_until_listening(port: int, server: subprocess.Popen[bytes], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mic run exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)  # polling a condition (the port), not sleeping as synchronization
    pytest.fail("mic run did not listen in time")


def test_run_serves_a_service_and_openapi_writes_the_served_bytes(
    framework: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mic",
            "run",
            f"{SAMPLE}:service",
            "--framework",
            framework,
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_listening(port, server)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert {"id": 7} == client.get("/items/7").json()
            served = client.get("/openapi.json")
        assert 200 == served.status_code
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    # Graceful (the lifespan's shutdown ran), then the signal is re-raised, as uvicorn does,
    # so a supervisor sees the process ended by SIGTERM.
    assert -signal.SIGTERM == server.returncode, err.decode()
    assert "Application shutdown complete" in err.decode()
    output = tmp_path / "openapi.json"
    written = subprocess.run(
        [
            sys.executable,
            "-m",
            "mic",
            "openapi",
            f"{SAMPLE}:service",
            "--framework",
            framework,
            "-o",
            str(output),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert 0 == written.returncode, written.stderr
    assert served.content == output.read_bytes()


def test_run_with_a_factory_and_an_app(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mic",
            "run",
            f"{SAMPLE}:create",
            "--factory",
            "--framework",
            "litestar",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_listening(port, server)
        assert 201 == httpx.post(f"http://127.0.0.1:{port}/items").status_code
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    assert 0 == server.returncode  # Ctrl-C: a graceful stop, as uvicorn ends it

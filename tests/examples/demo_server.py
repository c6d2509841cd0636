"""Run the example service in a real server process, for tools that need a URL."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]


DEMO_SECRET = "s" * 32
"""The demo's operator-token secret while a test serves it (see `operator_token`)."""


def operator_token() -> str:
    """A bearer token the served demo accepts for its operator-only routes."""
    from examples.service import AUDIENCE

    from mic.auth import ServiceAuthSigner, ServiceKey

    signer = ServiceAuthSigner(
        issuer="operator", keys=ServiceKey.hmac("demo", DEMO_SECRET.encode())
    )
    return signer.sign(AUDIENCE, claims={"roles": ["operator"]}, lifetime=600)


@contextlib.contextmanager
def running_demo(framework: str) -> Iterator[str]:
    """Serve ``examples.service`` on `framework` with uvicorn; yields its base URL."""
    port = free_port()
    env = os.environ | {
        "MIC_HTTP__FRAMEWORK": framework,
        "MIC_HTTP__PORT": str(port),
        "MIC_LOGGING__FORMAT": "text",
        # The contract tools need a fresh service, not the demo's SQLite file in the checkout.
        "MIC_STORAGE__URL": "memory://",
        "MIC_DEMO_SECRET": DEMO_SECRET,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "examples.service"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        # Wait on the condition (the server answers), polling: the server gives no other signal.
        while True:
            try:
                httpx.get(f"{base_url}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the example did not start within 30 s"
                time.sleep(0.1)
        yield base_url
    finally:
        server.terminate()
        server.communicate(timeout=10)

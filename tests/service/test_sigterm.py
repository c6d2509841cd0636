"""A real uvicorn, a real SIGTERM: requests in flight finish, then resources close in reverse."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]


class Server:
    """The sigterm app in a subprocess; its stdout lines collected by a thread."""

    def __init__(self, framework: str, *extra: str) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_", "COVERAGE_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.service.sigterm_app", framework, str(self.port), *extra],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, text: str, timeout: float = 30) -> None:
        with self.changed:
            found = self.changed.wait_for(
                lambda: any(text in line for line in self.lines) or self.process.poll() is not None,
                timeout=timeout,
            )
        assert found, "\n".join(self.lines)
        assert any(text in line for line in self.lines), "\n".join(self.lines)

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1)
                return
            except httpx.TransportError:
                assert self.process.poll() is None, "\n".join(self.lines)
                assert time.monotonic() < deadline, "the server did not start within 30 s"
                time.sleep(0.05)  # polling a server another process starts: it cannot signal us

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=15)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def events(self) -> list[str]:
        names = ("open ", "close ", "request ", "exited")
        return [line for line in self.lines if line.startswith(names)]


def test_sigterm_during_a_request_lets_it_finish_then_closes_in_reverse(framework: str) -> None:
    server = Server(framework)
    try:
        server.wait_until_serving()
        answers: list[httpx.Response] = []
        request = threading.Thread(
            target=lambda: answers.append(
                httpx.get(f"http://127.0.0.1:{server.port}/slow", timeout=10)
            )
        )
        request.start()
        server.wait_for("request started")
        server.process.send_signal(signal.SIGTERM)
        request.join(timeout=15)
        # uvicorn re-raises the signal once shut down, so the exit status says SIGTERM.
        assert -signal.SIGTERM == server.process.wait(timeout=15)
    finally:
        server.close()
    assert [(200, {"done": "yes"})] == [(a.status_code, a.json()) for a in answers]
    server.wait_for("close first")
    assert [
        "open first",
        "open second",
        "request started",
        "request finished",
        "close second",
        "close first",
    ] == server.events()


def test_a_failing_start_unwinds_and_the_server_exits_with_the_reason(framework: str) -> None:
    server = Server(framework, "fail")
    try:
        assert 0 != server.process.wait(timeout=30)
        server.wait_for("close first")
    finally:
        server.close()
    assert ["open first", "open second", "close second", "close first"] == server.events()[:4]
    output = "\n".join(server.lines)
    assert "starting 'third' failed: ConnectionRefusedError" in output
    assert "S3cret" not in output

"""Private server processes for fault-injection tests: a free loopback port, a temp directory.

A test stops and restarts its own `nats-server` or `redis-server`, never the shared ones.
The binary missing is a skip, or a failure under ``MIC_REQUIRE_SERVICES=1`` (``.ci/run``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support import free_port

S = TypeVar("S", bound="PrivateServer")


class PrivateServer(ABC):
    """A server process of one test's own, on a free port, that can be stopped and restarted."""

    binary_name: str

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def arguments(self) -> list[str]:
        """The command-line arguments after the binary."""

    def start(self, within: float = 20.0) -> None:
        """Start the process and wait until it accepts connections."""
        self.process = subprocess.Popen(
            [self.binary, *self.arguments()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            except OSError:
                time.sleep(0.05)  # polling a port another process opens: nothing to wait on
            else:
                return
        pytest.fail(f"private {self.binary_name} did not start on port {self.port}")

    def stop(self) -> None:
        """Terminate the process (a no-op when it is not running)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


class PrivateNats(PrivateServer):
    """nats-server with JetStream, its store in the temp directory."""

    binary_name = "nats-server"

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://127.0.0.1:{self.port}"

    def arguments(self) -> list[str]:
        return ["-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.directory)]


class PrivateRedis(PrivateServer):
    """redis-server without persistence."""

    binary_name = "redis-server"

    def arguments(self) -> list[str]:
        return [
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
        ]


@contextmanager
def running(kind: type[S], directory: Path) -> Iterator[S]:
    """A started `kind` server, stopped at the end; skips (or fails) without its binary."""
    binary = shutil.which(kind.binary_name)
    if binary is None:
        if os.environ.get("MIC_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{kind.binary_name} is not installed and MIC_REQUIRE_SERVICES=1")
        pytest.skip(f"{kind.binary_name} is not installed")
    server = kind(binary, directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()

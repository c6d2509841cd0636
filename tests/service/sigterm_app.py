"""A service for the SIGTERM tests: a slow route, and resources that print their lifecycle.

Run as ``python -m tests.service.sigterm_app <framework> <port>``; it prints one line per
lifecycle step so the test can follow (and order) them.
"""

from __future__ import annotations

import asyncio
import sys

from mic.http import HttpRouteSpec
from mic.service import Service
from mic.testing import memory_settings


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - the test reads the lifecycle from stdout


class Resource:
    def __init__(self, name: str) -> None:
        self.name = name
        say(f"open {name}")

    async def aclose(self) -> None:
        say(f"close {self.name}")


def build(framework: str, port: int, *, fail: bool = False) -> Service:
    settings = memory_settings(http={"framework": framework, "port": port, "shutdown_timeout": 10})

    async def slow() -> dict[str, str]:
        say("request started")
        await asyncio.sleep(1.0)  # the work in flight that SIGTERM must not cut short
        say("request finished")
        return {"done": "yes"}

    service = Service(
        settings,
        routes=[HttpRouteSpec(method="GET", path="/slow", name="slow", category="t", handler=slow)],
    )
    first = service.add_resource("first", lambda: Resource("first"))
    service.add_resource("second", lambda: Resource("second"), depends_on=[first])
    if fail:

        def broken() -> Resource:
            raise ConnectionRefusedError("postgresql://app:S3cret@db/app refused")

        service.add_resource("third", broken, depends_on=["second"])
    return service


if __name__ == "__main__":
    build(sys.argv[1], int(sys.argv[2]), fail=len(sys.argv) > 3).serve()
    say("exited")

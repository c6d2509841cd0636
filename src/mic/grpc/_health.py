"""The standard gRPC health service (``grpc.health.v1``), following a `ReadinessChecker`.

``Check`` runs the readiness probes and answers ``SERVING`` while the service is ready
(``degraded`` included: optional probes only degrade it) and ``NOT_SERVING`` otherwise;
``Watch`` streams each change, refreshed by `refresh` (called by ``Check``, and every
`interval` seconds once `start` runs).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

from mic._deps import require
from mic.healthcheck import ReadinessChecker

require("grpc_health", "grpc")

from grpc_health.v1 import health_pb2  # noqa: E402
from grpc_health.v1._async import HealthServicer  # noqa: E402

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class GrpcHealthService(HealthServicer):  # type: ignore[misc]
    """``grpc.health.v1.Health`` whose status is the readiness of `checker`.

    Args:
        checker: The readiness probes.
        services: Service names answered besides ``""`` (the whole server).
        interval: Seconds between refreshes once `start` runs (for ``Watch``).

    Raises:
        ValueError: `interval` is not a positive, finite number.
    """

    def __init__(
        self, checker: ReadinessChecker, services: Iterable[str] = (), *, interval: float = 5.0
    ) -> None:
        super().__init__()
        if not 0 < interval < float("inf"):
            raise ValueError("interval must be > 0 seconds, and finite")
        self.checker = checker
        self.services = ("", *services)
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        for name in self.services:
            self._server_status[name] = NOT_SERVING  # unknown until the first check

    async def refresh(self) -> bool:
        """Run the probes once and publish the status; whether the service is ready."""
        report = await self.checker.check()
        status = SERVING if report.ready else NOT_SERVING
        for name in self.services:
            await self.set(name, status)
        return report.ready

    async def Check(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC's name
        """Refresh, then answer the status of the requested service."""
        await self.refresh()
        return await super().Check(request, context)

    def start(self) -> None:
        """Refresh every `interval` seconds in a background task (for ``Watch``)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop refreshing and answer ``NOT_SERVING`` from now on (graceful shutdown)."""
        await self.enter_graceful_shutdown()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.interval)

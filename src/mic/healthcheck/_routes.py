"""``/health`` (liveness) and ``/ready`` (readiness) as route specs, for both frameworks."""

from __future__ import annotations

from typing import Final

from mic.healthcheck._checker import ReadinessChecker
from mic.http import HttpResponseSpec, HttpRouteSpec

NO_STORE: Final = {"Cache-Control": "no-store"}


def health_route(
    *, path: str = "/health", name: str = "health", include_in_schema: bool = False
) -> HttpRouteSpec:
    """``GET /health``: 200 ``{"status": "ok"}`` while the process serves requests.

    Liveness does no I/O on purpose: a database outage must not make the orchestrator
    restart every replica, it should only take them out of rotation (``/ready``).
    """

    async def live() -> HttpResponseSpec:
        return HttpResponseSpec(body={"status": "ok"}, headers=NO_STORE)

    return HttpRouteSpec(
        method="GET",
        path=path,
        name=name,
        category="health",
        handler=live,
        summary="Liveness",
        include_in_schema=include_in_schema,
    )


def readiness_route(
    checker: ReadinessChecker,
    *,
    path: str = "/ready",
    name: str = "ready",
    include_in_schema: bool = False,
) -> HttpRouteSpec:
    """``GET /ready``: every probe's status as JSON; 503 when a required probe is not up.

    The body is ``{"status": "ready"|"degraded"|"not_ready", "probes": {name: {"status",
    "required", "duration_ms", "error"?}}}``; ``degraded`` (an optional probe failed)
    still answers 200.
    """

    async def ready() -> HttpResponseSpec:
        report = await checker.check()
        status = 200 if report.ready else 503
        return HttpResponseSpec(status_code=status, body=report.to_dict(), headers=NO_STORE)

    return HttpRouteSpec(
        method="GET",
        path=path,
        name=name,
        category="health",
        handler=ready,
        summary="Readiness",
        include_in_schema=include_in_schema,
    )

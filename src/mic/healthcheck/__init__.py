"""Liveness and readiness: `ReadinessChecker` with dependency probes, and the two routes.

``/health`` answers while the process runs (no I/O); ``/ready`` runs the probes (SQL,
Redis, NATS, HTTP, any callable) concurrently with per-probe timeouts and answers 503 when
a required one fails. `ping_probe` turns any backend's ``ping()`` into a probe. See
docs/health.md.
"""

from mic.healthcheck._checker import (
    Probe,
    ProbeFailedError,
    ProbeResult,
    ReadinessChecker,
    ReadinessReport,
)
from mic.healthcheck._http import http_probe
from mic.healthcheck._nats import nats_probe
from mic.healthcheck._ping import Pingable, ping_probe
from mic.healthcheck._redis import redis_probe
from mic.healthcheck._routes import health_route, readiness_route
from mic.healthcheck._sql import sql_probe

__all__ = [
    "Pingable",
    "Probe",
    "ProbeFailedError",
    "ProbeResult",
    "ReadinessChecker",
    "ReadinessReport",
    "health_route",
    "http_probe",
    "nats_probe",
    "ping_probe",
    "readiness_route",
    "redis_probe",
    "sql_probe",
]

"""`Service`: one lifecycle for a service's resources, workers and routes, on either framework.

Resources open in `depends_on` order and close in reverse, each with a readiness probe;
workers (the outbox dispatcher) and event consumers run while the service does; shutdown
refuses new requests, drains those in flight within a deadline, then closes. See
docs/service.md.
"""

from mic.service._components import (
    Handle,
    ServiceConfigurationError,
    ServiceError,
    ServiceNotStartedError,
    ServiceStartError,
    Worker,
)
from mic.service._drain import DrainInterceptor
from mic.service._service import Service

__all__ = [
    "DrainInterceptor",
    "Handle",
    "Service",
    "ServiceConfigurationError",
    "ServiceError",
    "ServiceNotStartedError",
    "ServiceStartError",
    "Worker",
]

"""`ServiceHttpClient`: call other services with signed tokens, retries and typed contracts.

Needs the ``client`` extra (httpx). Error answers come back as the `DomainError` the other
service raised; `call` builds, validates and parses a request from the target's
`HttpRouteSpec`. Retries and the circuit breaker are `mic.resilience`'s `RetryPolicy` and
`CircuitBreaker`. `SyncServiceHttpClient` is the blocking twin.
"""

from mic.client._client import ServiceHttpClient, propagation_headers
from mic.client._errors import UpstreamServerError, UpstreamServiceError, error_from_response
from mic.client._sync import SyncServiceHttpClient

__all__ = [
    "ServiceHttpClient",
    "SyncServiceHttpClient",
    "UpstreamServerError",
    "UpstreamServiceError",
    "error_from_response",
    "propagation_headers",
]

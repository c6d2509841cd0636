"""`ServiceHttpClient`: call other services with signed tokens, retries and typed contracts.

Needs the ``client`` extra (httpx). Error answers come back as the `DomainError` the other
service raised; `call` builds, validates and parses a request from the target's
`HttpRouteSpec`. `SyncServiceHttpClient` is the blocking twin.
"""

from mic.client._client import ServiceHttpClient, propagation_headers
from mic.client._errors import UpstreamServiceError, error_from_response
from mic.client._retry import CircuitBreakerLike, RetryPolicy
from mic.client._sync import SyncServiceHttpClient

__all__ = [
    "CircuitBreakerLike",
    "RetryPolicy",
    "ServiceHttpClient",
    "SyncServiceHttpClient",
    "UpstreamServiceError",
    "error_from_response",
    "propagation_headers",
]

"""Resilience for calls to other services: a circuit breaker and retries with backoff.

`CircuitBreaker` stops calling a failing dependency and probes it before recovering (async
and sync). `retry` retries coroutines with exponential backoff, full jitter, a total deadline
and respect for ``Retry-After``. Both work on any coroutine; `mic.client` uses them.
"""

from mic.resilience._breaker import CircuitBreaker, CircuitOpenError, CircuitState, StateListener
from mic.resilience._retry import (
    Retry,
    RetryListener,
    RetryPolicy,
    RetryPredicate,
    retry,
    retry_after_of,
)

__all__ = [
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitState",
    "Retry",
    "RetryListener",
    "RetryPolicy",
    "RetryPredicate",
    "StateListener",
    "retry",
    "retry_after_of",
]

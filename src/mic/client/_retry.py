"""Retry policy (backoff with full jitter, total deadline) and the circuit breaker shape."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class CircuitBreakerLike(Protocol):
    """What `ServiceHttpClient` needs from a circuit breaker (one per target service).

    `call` runs `operation` (a zero-argument coroutine function, one HTTP attempt) unless
    the circuit is open, in which case it raises at once without calling it. Every exception
    the operation raises counts as a failure: the client raises for connection failures and
    5xx answers, never for 4xx. A rejection is raised to the caller as it is (a
    `DomainError`) or wrapped in a `TransientError` (``circuit_open``); it is not retried.
    """

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation` through the breaker."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how a `ServiceHttpClient` tries a request again.

    Only safe requests are retried: idempotent methods (RFC 9110 section 9.2.2), or any
    request carrying an ``Idempotency-Key``. A connection that could not be opened is
    retried for every method, since the request was never sent.

    Attributes:
        attempts: Total attempts, the first included (``1`` disables retries).
        base_delay: Upper bound of the first wait, in seconds.
        max_delay: Upper bound of any wait, in seconds.
        multiplier: Growth of the upper bound per attempt (exponential backoff).
        deadline: Seconds for the whole call: attempts and waits together.
        retry_statuses: Answers worth another attempt.
    """

    attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 2.0
    multiplier: float = 2.0
    deadline: float = 10.0
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("delays must satisfy 0 <= base_delay <= max_delay")
        if self.multiplier < 1:
            raise ValueError("multiplier must be >= 1")
        if self.deadline <= 0:
            raise ValueError("deadline must be > 0 seconds")
        object.__setattr__(self, "retry_statuses", frozenset(self.retry_statuses))

    def delay(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number `retry` (1-based): "full jitter" backoff.

        Full jitter (a uniform draw below the exponential bound) spreads the retries of
        many clients, so a recovering service is not hit by synchronized waves.
        """
        bound = min(self.max_delay, self.base_delay * self.multiplier ** (retry - 1))
        return rng.uniform(0.0, bound)

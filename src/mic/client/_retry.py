"""The client's HTTP retry rules: which failed attempts may be sent again (ADR 0013).

Timing (backoff with full jitter, deadline, ``Retry-After``) belongs to
`mic.resilience.RetryPolicy`; this module only says which requests are safe to repeat and
which failures are worth repeating them for.
"""

from __future__ import annotations

from collections.abc import Mapping

from mic.resilience import RetryPolicy

# RFC 9110 section 9.2.2: repeating these has the effect of sending them once.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# Answers that say "not now" rather than "no": rate limited, or the path to the service or
# the service itself is overloaded. A 500 is not here: the handler may have acted, and a bug
# does not heal in a few hundred milliseconds.
RETRY_STATUSES = frozenset({429, 502, 503, 504})

DEFAULT_RETRY_POLICY = RetryPolicy(attempts=3, base_delay=0.1, max_delay=2.0, deadline=10.0)
"""What `ServiceHttpClient` uses when given no policy: 3 attempts within 10 s in total."""


def is_safe_to_repeat(method: str, headers: Mapping[str, str]) -> bool:
    """Whether sending the request twice does no more harm than sending it once.

    True for idempotent methods, and for any request carrying an ``Idempotency-Key`` (the
    server then answers a repeat from its record). `headers` must have lower-case names.
    """
    return method in IDEMPOTENT_METHODS or "idempotency-key" in headers


class HttpAttemptRule:
    """What one request's latest attempt did, and whether its failure may be retried.

    The client updates the fields while an attempt runs; `mic.resilience.Retry` calls the
    object (as the policy's ``retry_if``) on the attempt's error.

    Attributes:
        safe: The request may be sent twice (`is_safe_to_repeat`).
        started: The circuit breaker let the attempt run (``False``: it refused, nothing
            was sent, and asking again at once would be refused again).
        unsent: The request surely never reached the server (the connection failed).
        status: The answer's status; ``None`` when there was no answer.
    """

    __slots__ = ("safe", "started", "status", "unsent")

    def __init__(self, *, safe: bool) -> None:
        self.safe = safe
        self.started = False
        self.unsent = False
        self.status: int | None = None

    def begin(self) -> None:
        """Forget the previous attempt."""
        self.started = self.unsent = False
        self.status = None

    def __call__(self, error: BaseException) -> bool:
        """Whether the attempt that raised `error` may be repeated."""
        if not self.started:
            return False
        if self.status is None:
            # No answer: a connection that never opened is retried for every method; a
            # timeout or reset after sending only for safe requests (the server may have acted).
            return self.safe or self.unsent
        return self.safe and self.status in RETRY_STATUSES

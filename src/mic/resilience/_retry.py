"""`retry`: call a coroutine again after a transient failure, with backoff and a deadline.

Waits grow exponentially with full jitter (a uniform draw between 0 and the capped backoff,
so many clients retrying at once spread out), never start before a server's ``Retry-After``,
and stop at a total deadline. Which errors are worth another attempt is the policy's
`retry_on` types, narrowed by an optional `retry_if` predicate (``mic.client`` uses it for its
HTTP rules).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, overload

from mic._checks import check_count, check_duration
from mic._waiting import exponential_backoff
from mic.model import RateLimitedError, TransientError

logger = logging.getLogger("mic.resilience")

P = ParamSpec("P")
R = TypeVar("R")

Sleep = Callable[[float], Awaitable[None]]
RetryListener = Callable[[int, BaseException, float], None]
"""Called as ``listener(attempt, error, delay)`` before waiting for attempt ``attempt + 1``."""
RetryPredicate = Callable[[BaseException], bool]
"""Called as ``predicate(error)`` on an error of a `retry_on` type: ``False`` raises it at once."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to wait before trying again.

    Attributes:
        attempts: Total attempts, the first included (>= 1).
        base_delay: Backoff before the second attempt, in seconds.
        multiplier: Growth of the backoff per attempt (>= 1).
        max_delay: Cap on one wait, in seconds. A ``Retry-After`` longer than this gives up
            instead of waiting (or of retrying before the server asked).
        deadline: Total seconds from the first attempt after which no wait or new attempt
            starts (``None``: no deadline). Bound each attempt itself with its own timeout.
        retry_on: Exception types worth retrying; anything else is raised at once. The
            default is the errors that say "try again later": `TransientError` (503,
            `CircuitOpenError` included) and `RateLimitedError` (429).
        retry_if: An optional predicate narrowing `retry_on`: an error it answers ``False``
            for is raised at once (for example "only if the request was idempotent").
        respect_retry_after: Wait at least the error's ``retry_after`` seconds (set by
            `DomainError` from ``Retry-After``, or by any exception with that attribute).
    """

    attempts: int = 3
    base_delay: float = 0.1
    multiplier: float = 2.0
    max_delay: float = 10.0
    deadline: float | None = None
    retry_on: tuple[type[BaseException], ...] = (TransientError, RateLimitedError)
    respect_retry_after: bool = True
    retry_if: RetryPredicate | None = None

    def __post_init__(self) -> None:
        check_count("attempts", self.attempts)
        check_duration("base_delay", self.base_delay, allow_zero=True)
        check_duration("max_delay", self.max_delay, allow_zero=True)
        if not 1 <= self.multiplier < math.inf:
            raise ValueError("multiplier must be a finite number >= 1")
        check_duration("deadline", self.deadline, optional=True)
        if not self.retry_on:
            raise ValueError("retry_on must name at least one exception type")
        if self.retry_if is not None and not callable(self.retry_if):
            raise TypeError("retry_if must be a callable taking the error")

    def should_retry(self, error: BaseException) -> bool:
        """Whether `error` is worth another attempt: a `retry_on` type that `retry_if` accepts.

        Timing (attempts left, deadline, ``Retry-After``) is not considered here.
        """
        if not isinstance(error, self.retry_on):
            return False
        return self.retry_if is None or self.retry_if(error)

    def backoff(self, retry_number: int) -> float:
        """The capped backoff before retry number `retry_number` (1 for the first retry)."""
        return exponential_backoff(
            self.base_delay, retry_number, cap=self.max_delay, multiplier=self.multiplier
        )


def retry_after_of(error: BaseException) -> float | None:
    """The ``retry_after`` seconds an exception carries, if it is a usable number."""
    value = getattr(error, "retry_after", None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


class Retry:
    """Runs coroutines under a `RetryPolicy`; a decorator as well.

    Args:
        policy: The policy (defaults apply when omitted).
        sleep: Async sleep (injectable for tests).
        clock: Monotonic clock in seconds, for the deadline (injectable for tests).
        random: Uniform draw in ``[0, 1)`` for the jitter (injectable for tests).
        on_retry: Listeners called before each wait (metrics, logs).
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = random.random,
        on_retry: RetryListener | tuple[RetryListener, ...] = (),
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.listeners = on_retry if isinstance(on_retry, tuple) else (on_retry,)
        self._sleep = sleep
        self._clock = clock
        self._random = random

    def _delay(self, retry_number: int, error: BaseException, started: float) -> float | None:
        """The wait before the next attempt, or ``None`` to give up."""
        policy = self.policy
        delay = self._random() * policy.backoff(retry_number)
        server_delay = retry_after_of(error) if policy.respect_retry_after else None
        if server_delay is not None:
            if server_delay > policy.max_delay:
                return None
            delay = max(delay, server_delay)
        # ">=": an attempt that would start exactly at the deadline would have no time left.
        if policy.deadline is not None and self._clock() + delay >= started + policy.deadline:
            return None
        return delay

    async def call(
        self, function: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Await ``function(*args, **kwargs)``, retrying as the policy says.

        Raises:
            BaseException: The last error, once retrying stops (a note says why); errors
                the policy does not retry (`RetryPolicy.should_retry`) at once.
        """
        policy = self.policy
        started = self._clock()
        attempt = 1
        while True:
            try:
                return await function(*args, **kwargs)
            except policy.retry_on as error:
                if policy.retry_if is not None and not policy.retry_if(error):
                    raise
                if attempt >= policy.attempts:
                    error.add_note(f"gave up after {attempt} attempts")
                    raise
                delay = self._delay(attempt, error, started)
                if delay is None:
                    error.add_note(
                        f"gave up after {attempt} attempts: the next wait would pass the "
                        "deadline or the longest allowed delay"
                    )
                    raise
                self._notify(attempt, error, delay)
            await self._sleep(delay)
            attempt += 1

    def _notify(self, attempt: int, error: BaseException, delay: float) -> None:
        logger.info("attempt %d failed (%r); retrying in %.3f s", attempt, error, delay)
        for listener in self.listeners:
            try:
                listener(attempt, error, delay)
            except Exception:
                logger.exception("retry listener failed")

    def __call__(self, function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        """Decorate a coroutine function so every call is retried.

        Raises:
            TypeError: `function` is not a coroutine function (async-first, ADR 0004).
        """
        if not inspect.iscoroutinefunction(function):
            raise TypeError(f"retry needs an async function, got {function!r}")

        @functools.wraps(function)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            return await self.call(function, *args, **kwargs)

        return wrapper


@overload
def retry(function: Callable[P, Awaitable[R]], /) -> Callable[P, Awaitable[R]]: ...


@overload
def retry(
    function: None = None,
    /,
    *,
    policy: RetryPolicy | None = None,
    on_retry: RetryListener | tuple[RetryListener, ...] = (),
    **options: Any,
) -> Retry: ...


def retry(
    function: Callable[P, Awaitable[R]] | None = None,
    /,
    *,
    policy: RetryPolicy | None = None,
    on_retry: RetryListener | tuple[RetryListener, ...] = (),
    **options: Any,
) -> Callable[P, Awaitable[R]] | Retry:
    """Retry a coroutine function: ``@retry``, ``@retry(attempts=5, deadline=10)``.

    Also the function form: ``await retry(attempts=5).call(fetch, url)``.

    Args:
        function: The coroutine function, when used as a bare ``@retry``.
        policy: A ready `RetryPolicy`; or pass its fields as keyword `options`.
        on_retry: Listeners called before each wait.
        **options: `RetryPolicy` fields (``attempts``, ``base_delay``, ``deadline``...).

    Raises:
        TypeError: Both `policy` and `options`, or a plain (non-async) function.
    """
    if policy is not None and options:
        raise TypeError("pass either policy= or RetryPolicy fields, not both")
    runner = Retry(policy or RetryPolicy(**options), on_retry=on_retry)
    if function is not None:
        return runner(function)
    return runner

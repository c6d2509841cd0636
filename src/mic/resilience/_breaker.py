"""`CircuitBreaker`: stop calling a dependency that keeps failing, probe it, then recover.

Closed: calls go through and outcomes are counted. Open: calls fail fast with
`CircuitOpenError` (a 503 with ``Retry-After`` on HTTP) until `recovery_time` has passed.
Half-open: at most `half_open_max_calls` probes run at once (a probe from an earlier
half-open round that is still running counts too); `success_threshold` successful probes
close the circuit, one failed probe opens it again.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from mic.model import TransientError

logger = logging.getLogger("mic.resilience")

P = ParamSpec("P")
R = TypeVar("R")


class CircuitState(StrEnum):
    """The three states of a circuit breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(TransientError):
    """The circuit is open (or its probes are all taken): the call was not attempted (503).

    Attributes:
        breaker: Name of the circuit breaker that refused the call.
        retry_after: Seconds until the breaker lets a probe through (also `Retry-After`).
    """

    default_code = "circuit_open"

    def __init__(self, breaker: str, retry_after: float) -> None:
        super().__init__(
            message=f"Circuit {breaker!r} is open; the call was not attempted",
            details={"circuit": breaker},
            retry_after=retry_after,
        )
        self.breaker = breaker


StateListener = Callable[["CircuitBreaker", CircuitState, CircuitState], None]
"""Called as ``listener(breaker, old_state, new_state)`` on every state change."""


def _is_count(value: object) -> bool:
    return type(value) is int and value >= 1


@dataclass(frozen=True, slots=True)
class _Permit:
    """One admitted call; `generation` tells whether the circuit moved on meanwhile."""

    generation: int
    probe: bool


# Permits of `with breaker:` blocks; a context variable keeps concurrent tasks and threads
# apart, and the tuple is a stack so nested blocks on one breaker work.
_permits: contextvars.ContextVar[tuple[tuple[int, _Permit], ...]] = contextvars.ContextVar(
    "mic_circuit_permits", default=()
)


class CircuitBreaker:
    """A circuit breaker, usable from async and sync code, thread-safe.

    Use it as ``async with breaker:``, ``with breaker:``, a decorator on an ``async def`` or
    a plain function (``@breaker``), or ``await breaker.call(fn, ...)``.

    Exceptions listed in `counted_exceptions` count as failures; any other exception is
    re-raised and counts as a success (the dependency answered, e.g. a 404). The circuit
    opens when `failure_threshold` consecutive failures happen, or when the failure rate over
    the last `window_size` calls reaches `failure_rate_threshold` (once `minimum_calls` were
    seen), whichever comes first.

    Args:
        name: Name used in errors, logs and callbacks.
        failure_threshold: Consecutive failures that open the circuit (``None``: off).
        failure_rate_threshold: Failure rate (0 < rate <= 1) that opens it (``None``: off).
        window_size: Calls the failure rate is computed over.
        minimum_calls: Calls needed in the window before the rate is considered.
        recovery_time: Seconds the circuit stays open before probing.
        half_open_max_calls: Probes allowed at once while half-open.
        success_threshold: Successful probes needed to close (<= `half_open_max_calls`).
        counted_exceptions: Exception types that count as failures.
        on_state_change: Listeners called on every state change (metrics, logs).
        clock: Monotonic clock in seconds (injectable for tests).
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int | None = 5,
        failure_rate_threshold: float | None = None,
        window_size: int = 20,
        minimum_calls: int = 10,
        recovery_time: float = 30.0,
        half_open_max_calls: int = 1,
        success_threshold: int = 1,
        counted_exceptions: tuple[type[BaseException], ...] = (TransientError,),
        on_state_change: StateListener | tuple[StateListener, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold is None and failure_rate_threshold is None:
            raise ValueError(f"circuit {name!r}: set failure_threshold or failure_rate_threshold")
        if failure_threshold is not None and not _is_count(failure_threshold):
            raise ValueError(f"circuit {name!r}: failure_threshold must be an integer >= 1")
        if failure_rate_threshold is not None and not 0 < failure_rate_threshold <= 1:
            raise ValueError(f"circuit {name!r}: failure_rate_threshold must be in (0, 1]")
        counts = (window_size, minimum_calls, half_open_max_calls, success_threshold)
        if not all(_is_count(count) for count in counts):
            raise ValueError(
                f"circuit {name!r}: window_size, minimum_calls, half_open_max_calls and "
                "success_threshold must be integers >= 1"
            )
        if not 1 <= minimum_calls <= window_size:
            raise ValueError(f"circuit {name!r}: need 1 <= minimum_calls <= window_size")
        # NaN would keep the circuit open for ever (no time is ever >= opened_at + NaN).
        if not 0 <= recovery_time < math.inf:
            raise ValueError(f"circuit {name!r}: recovery_time must be a finite number >= 0")
        if not 1 <= success_threshold <= half_open_max_calls:
            raise ValueError(
                f"circuit {name!r}: need 1 <= success_threshold <= half_open_max_calls"
            )
        if not counted_exceptions:
            raise ValueError(f"circuit {name!r}: counted_exceptions must not be empty")
        self.name = name
        self.failure_threshold = failure_threshold
        self.failure_rate_threshold = failure_rate_threshold
        self.minimum_calls = minimum_calls
        self.recovery_time = recovery_time
        self.half_open_max_calls = half_open_max_calls
        self.success_threshold = success_threshold
        self.counted_exceptions = counted_exceptions
        self.listeners: tuple[StateListener, ...] = (
            on_state_change if isinstance(on_state_change, tuple) else (on_state_change,)
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._generation = 0
        self._opened_at = 0.0
        self._consecutive_failures = 0
        self._outcomes: deque[bool] = deque(maxlen=window_size)  # True: failure
        self._probes_in_flight = 0
        self._probe_successes = 0

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, state={self.state.value})"

    @property
    def state(self) -> CircuitState:
        """The current state (an open circuit whose recovery time passed reads half-open)."""
        with self._lock:
            changes = self._refresh()
        self._notify(changes)
        return self._state

    @property
    def failure_rate(self) -> float:
        """Failure rate over the calls in the window (0.0 when there were none)."""
        with self._lock:
            outcomes = list(self._outcomes)
        return sum(outcomes) / len(outcomes) if outcomes else 0.0

    def reset(self) -> None:
        """Close the circuit and forget every outcome (an operator's override)."""
        with self._lock:
            changes = self._transition(CircuitState.CLOSED)
        self._notify(changes)

    # --- admission and outcomes -------------------------------------------------------

    def _acquire(self) -> _Permit:
        with self._lock:
            changes = self._refresh()
            permit, retry_after = self._admit()
        self._notify(changes)
        if permit is None:
            raise CircuitOpenError(self.name, retry_after)
        return permit

    def _admit(self) -> tuple[_Permit | None, float]:
        if self._state is CircuitState.CLOSED:
            return _Permit(self._generation, probe=False), 0.0
        if self._state is CircuitState.HALF_OPEN:
            if self._probes_in_flight < self.half_open_max_calls:
                self._probes_in_flight += 1
                return _Permit(self._generation, probe=True), 0.0
            return None, 0.0
        return None, max(0.0, self._opened_at + self.recovery_time - self._clock())

    def _release(self, permit: _Permit, error: BaseException | None) -> None:
        failed = error is not None and isinstance(error, self.counted_exceptions)
        # Cancellation (and other BaseExceptions that are not errors) says nothing about the
        # dependency: the call frees its probe slot but is not counted either way.
        neutral = not failed and error is not None and not isinstance(error, Exception)
        with self._lock:
            changes = self._record(permit, failed=failed, neutral=neutral)
        self._notify(changes)

    def _record(
        self, permit: _Permit, *, failed: bool, neutral: bool
    ) -> list[tuple[CircuitState, CircuitState]]:
        if permit.probe:
            # Every probe still running counts against the half-open bound, even one from
            # an earlier half-open round (its call is still hitting the dependency).
            self._probes_in_flight -= 1
        if permit.generation != self._generation:
            # The circuit changed state while this call ran: its outcome describes the
            # dependency as it was, so it must not move the new state.
            return []
        if permit.probe:
            return self._record_probe(failed=failed, neutral=neutral)
        if neutral:
            return []
        self._outcomes.append(failed)
        self._consecutive_failures = self._consecutive_failures + 1 if failed else 0
        if failed and self._should_open():
            return self._transition(CircuitState.OPEN)
        return []

    def _record_probe(
        self, *, failed: bool, neutral: bool
    ) -> list[tuple[CircuitState, CircuitState]]:
        if failed:
            return self._transition(CircuitState.OPEN)
        if neutral:
            return []
        self._probe_successes += 1
        if self._probe_successes >= self.success_threshold:
            return self._transition(CircuitState.CLOSED)
        return []

    def _should_open(self) -> bool:
        threshold = self.failure_threshold
        if threshold is not None and self._consecutive_failures >= threshold:
            return True
        rate_threshold = self.failure_rate_threshold
        if rate_threshold is None or len(self._outcomes) < self.minimum_calls:
            return False
        return sum(self._outcomes) / len(self._outcomes) >= rate_threshold

    def _refresh(self) -> list[tuple[CircuitState, CircuitState]]:
        if (
            self._state is CircuitState.OPEN
            and self._clock() >= self._opened_at + self.recovery_time
        ):
            return self._transition(CircuitState.HALF_OPEN)
        return []

    def _transition(self, new: CircuitState) -> list[tuple[CircuitState, CircuitState]]:
        old = self._state
        self._state = new
        self._generation += 1
        self._probe_successes = 0
        if new is CircuitState.OPEN:
            self._opened_at = self._clock()
        if new is CircuitState.CLOSED:
            self._outcomes.clear()
            self._consecutive_failures = 0
        return [(old, new)] if old is not new else []

    def _notify(self, changes: list[tuple[CircuitState, CircuitState]]) -> None:
        # Listeners run outside the lock, so one may read `state` without deadlocking.
        for old, new in changes:
            log = logger.warning if new is CircuitState.OPEN else logger.info
            log("circuit %r: %s -> %s", self.name, old.value, new.value)
            for listener in self.listeners:
                try:
                    listener(self, old, new)
                except Exception:
                    logger.exception("state listener of circuit %r failed", self.name)

    # --- the ways to use it -----------------------------------------------------------

    def __enter__(self) -> CircuitBreaker:
        permit = self._acquire()
        _permits.set((*_permits.get(), (id(self), permit)))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        stack = _permits.get()
        for index in range(len(stack) - 1, -1, -1):
            if stack[index][0] == id(self):
                permit = stack[index][1]
                _permits.set(stack[:index] + stack[index + 1 :])
                self._release(permit, exc)
                return
        raise RuntimeError(f"circuit {self.name!r}: exit without a matching enter")

    async def __aenter__(self) -> CircuitBreaker:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)

    async def call(
        self, function: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Await ``function(*args, **kwargs)`` through the breaker.

        Raises:
            CircuitOpenError: The circuit refused the call (it was not attempted).
        """
        permit = self._acquire()
        try:
            result = await function(*args, **kwargs)
        except BaseException as error:
            self._release(permit, error)
            raise
        self._release(permit, None)
        return result

    def call_sync(self, function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the plain function ``function(*args, **kwargs)`` through the breaker.

        Raises:
            CircuitOpenError: The circuit refused the call (it was not attempted).
        """
        permit = self._acquire()
        try:
            result = function(*args, **kwargs)
        except BaseException as error:
            self._release(permit, error)
            raise
        self._release(permit, None)
        return result

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        """Decorate a coroutine function or a plain function so every call goes through."""
        if inspect.iscoroutinefunction(function):
            async_function = cast(Callable[P, Awaitable[Any]], function)

            @functools.wraps(function)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                return await self.call(async_function, *args, **kwargs)

            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            return self.call_sync(function, *args, **kwargs)

        return wrapper

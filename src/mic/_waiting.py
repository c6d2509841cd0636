"""Waiting, once: capped exponential backoff and a poller with a time budget.

Every loop that waits between attempts (retries, event redelivery, the outbox dispatcher,
lock acquisition, idempotency waits, rate-limit waits) takes its delays from here, with the
clock and the sleep injectable so tests never sleep for real (issue 15, STYLE.md).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

Sleep = Callable[[float], Awaitable[None]]
"""An async sleep, ``asyncio.sleep`` by default."""

Clock = Callable[[], float]
"""A monotonic clock in seconds, ``time.monotonic`` by default."""


def exponential_backoff(
    first: float, attempt: int, *, cap: float, multiplier: float = 2.0
) -> float:
    """``first * multiplier ** (attempt - 1)``, at most `cap`: the wait after failure `attempt`.

    Args:
        first: The wait after the first failure.
        attempt: 1 for the first failure, 2 for the second, ...
        cap: The longest wait.
        multiplier: The growth per failure (>= 1).
    """
    try:
        growth = multiplier ** (attempt - 1)
    except OverflowError:  # a float power past 1e308 raises instead of giving inf
        return cap
    return min(cap, first * growth)


class Poller:
    """Waits between the attempts of a polling loop, within an optional time budget.

    Args:
        interval: The first wait.
        budget: Seconds the loop may spend in all (``None``: no limit).
        growth: Each wait is the previous one times `growth` (1: constant).
        max_interval: The longest single wait.
        clock: Where elapsed time is read; ``None`` counts only the time slept here (for
            callers whose only notion of time is the sleep they were given).
        sleep: The sleep.

    Not for concurrent use: one poller belongs to one loop.
    """

    def __init__(
        self,
        *,
        interval: float,
        budget: float | None = None,
        growth: float = 1.0,
        max_interval: float = math.inf,
        clock: Clock | None = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._interval = interval
        self._budget = budget
        self._growth = growth
        self._max_interval = max_interval
        self._clock = clock
        self._sleep = sleep
        self._slept = 0.0
        self._started = clock() if clock is not None else 0.0

    def remaining(self) -> float | None:
        """Seconds left in the budget (``None`` without one; never below 0)."""
        if self._budget is None:
            return None
        elapsed = self._slept if self._clock is None else self._clock() - self._started
        return max(0.0, self._budget - elapsed)

    async def wait(self, seconds: float | None = None, *, whole: bool = False) -> bool:
        """Sleep before the next attempt; ``False`` (without sleeping) when the budget is spent.

        Args:
            seconds: This wait (default: the poller's current interval, which then grows).
            whole: Refuse (``False``) when `seconds` does not fit in what is left of the
                budget, instead of sleeping what is left.
        """
        if seconds is None:
            seconds = self._interval
            self._interval = min(self._interval * self._growth, self._max_interval)
        remaining = self.remaining()
        if remaining is not None:
            if remaining <= 0 or (whole and seconds > remaining):
                return False
            seconds = min(seconds, remaining)
        await self._sleep(seconds)
        self._slept += seconds
        return True

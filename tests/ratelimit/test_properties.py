"""Property tests of the rate-limit math, through the in-memory limiter and a fake clock."""

from __future__ import annotations

import asyncio
import math
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from mic.ratelimit import InMemoryRateLimiter, RateLimitDecision, RateLimitPolicy, Strategy
from tests.ratelimit.conftest import FakeClock

# Events: (seconds since the previous request, cost). Times start on a window boundary.
events = st.lists(
    st.tuples(st.floats(min_value=0, max_value=3, allow_nan=False), st.integers(1, 3)),
    min_size=1,
    max_size=60,
)
limits = st.integers(min_value=3, max_value=20)
periods = st.sampled_from([0.5, 1.0, 2.5, 10.0])


def run(
    policy: RateLimitPolicy, steps: list[tuple[float, int]]
) -> list[tuple[float, int, RateLimitDecision]]:
    """Play `steps` against a fresh limiter; returns (time, cost, decision) per request."""
    clock = FakeClock(now=1000.0)
    limiter = InMemoryRateLimiter(policy, clock=clock)

    async def play() -> list[tuple[float, int, RateLimitDecision]]:
        out = []
        for gap, cost in steps:
            clock.now += gap
            out.append((clock.now, cost, await limiter.consume("k", cost=cost)))
        return out

    return asyncio.run(play())


@settings(max_examples=150, deadline=None)
@given(limit=limits, period=periods, steps=events)
def test_window_strategies_never_exceed_the_limit_per_window(
    limit: int, period: float, steps: list[tuple[float, int]]
) -> None:
    for strategy in (Strategy.FIXED_WINDOW, Strategy.SLIDING_WINDOW):
        admitted: Counter[int] = Counter()
        for now, cost, decision in run(RateLimitPolicy(limit, period, strategy), steps):
            assert 0 <= decision.remaining <= limit
            if decision.allowed:
                admitted[math.floor(now / period)] += cost
                assert decision.retry_after == 0.0
            else:
                assert decision.retry_after > 0
        assert max(admitted.values(), default=0) <= limit


@settings(max_examples=150, deadline=None)
@given(limit=limits, period=periods, steps=events)
def test_sliding_window_admits_at_most_twice_the_limit_in_any_rolling_period(
    limit: int, period: float, steps: list[tuple[float, int]]
) -> None:
    played = run(RateLimitPolicy(limit, period, Strategy.SLIDING_WINDOW), steps)
    times = [(now, cost) for now, cost, decision in played if decision.allowed]
    for start, _ in times:
        in_window = sum(cost for now, cost in times if start <= now < start + period)
        assert in_window <= 2 * limit


@settings(max_examples=150, deadline=None)
@given(
    limit=limits,
    period=periods,
    burst=st.integers(min_value=3, max_value=30),
    steps=events,
)
def test_token_bucket_admits_at_most_burst_plus_refill(
    limit: int, period: float, burst: int, steps: list[tuple[float, int]]
) -> None:
    policy = RateLimitPolicy(limit, period, Strategy.TOKEN_BUCKET, burst=burst)
    played = run(policy, steps)
    admitted = [(now, cost) for now, cost, decision in played if decision.allowed]
    rate = limit / period
    for i, (start, _) in enumerate(admitted):
        total = 0
        for now, cost in admitted[i:]:
            total += cost
            assert total <= burst + rate * (now - start) + 1e-6
    for _, _, decision in played:
        assert 0 <= decision.remaining <= burst


@settings(max_examples=150, deadline=None)
@given(strategy=st.sampled_from(list(Strategy)), limit=limits, period=periods, steps=events)
def test_a_refused_request_is_admitted_once_retry_after_has_passed(
    strategy: Strategy, limit: int, period: float, steps: list[tuple[float, int]]
) -> None:
    policy = RateLimitPolicy(limit, period, strategy)
    played = run(policy, steps)
    for index, (_, cost, decision) in enumerate(played):
        if decision.allowed:
            continue
        # Replay the history up to the refusal, wait retry_after, and ask again.
        history = [*steps[:index], (steps[index][0] + decision.retry_after + 1e-6, cost)]
        assert run(policy, history)[-1][2].allowed
        break


def test_a_full_bucket_admits_a_request_of_its_whole_capacity() -> None:
    """Regression: 10 s / 3 intervals rounded a full bucket into refusing cost == capacity."""
    policy = RateLimitPolicy(3, 10.0, Strategy.TOKEN_BUCKET)
    steps = [(1.6092474431287043, 1), (0.0, 1), (1.0, 1), (3.0, 1), (0.0, 3)]
    refused = run(policy, steps)[-1][2]
    assert not refused.allowed
    history = [*steps[:-1], (steps[-1][0] + refused.retry_after + 1e-6, 3)]
    assert run(policy, history)[-1][2].allowed

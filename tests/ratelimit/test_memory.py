"""The in-memory limiter over time (fake clock): windows roll, buckets refill, memory stays bounded."""

from __future__ import annotations

import logging

import pytest

from mic.ratelimit import InMemoryRateLimiter, RateLimitPolicy, Strategy
from tests.ratelimit.conftest import FakeClock


async def test_fixed_window_restarts_at_the_window_boundary(clock: FakeClock) -> None:
    clock.now = 1000.0  # a window boundary for period 10
    limiter = InMemoryRateLimiter(RateLimitPolicy(2, 10, Strategy.FIXED_WINDOW), clock=clock)
    assert await limiter.consume("k")
    clock.now = 1009.0
    assert await limiter.consume("k")
    refused = await limiter.consume("k")
    assert (refused.allowed, refused.retry_after, refused.reset_after) == (False, 1.0, 1.0)
    clock.now = 1010.0
    assert (await limiter.consume("k")).remaining == 1


async def test_sliding_window_weights_the_previous_window(clock: FakeClock) -> None:
    clock.now = 1000.0
    limiter = InMemoryRateLimiter(RateLimitPolicy(4, 10, Strategy.SLIDING_WINDOW), clock=clock)
    for _ in range(4):
        assert await limiter.consume("k")
    clock.now = 1012.5  # previous window weighs 0.75: estimate 3
    decision = await limiter.consume("k")
    assert (decision.allowed, decision.remaining) == (True, 0)
    refused = await limiter.consume("k")
    assert not refused.allowed
    # Previous count 4 must decay to weight 0.5 (estimate 2 + current 1 + cost 1 = 4).
    assert refused.retry_after == pytest.approx(2.5)
    clock.now += refused.retry_after
    assert await limiter.consume("k")


async def test_sliding_window_forgets_windows_older_than_the_previous(clock: FakeClock) -> None:
    clock.now = 1000.0
    limiter = InMemoryRateLimiter(RateLimitPolicy(2, 10, Strategy.SLIDING_WINDOW), clock=clock)
    assert await limiter.consume("k")
    assert await limiter.consume("k")
    clock.now = 1025.0
    assert (await limiter.consume("k")).remaining == 1


async def test_sliding_window_refused_in_a_full_current_window_waits_for_the_next(
    clock: FakeClock,
) -> None:
    clock.now = 1000.0
    limiter = InMemoryRateLimiter(RateLimitPolicy(2, 10, Strategy.SLIDING_WINDOW), clock=clock)
    assert await limiter.consume("k")
    assert await limiter.consume("k")
    refused = await limiter.consume("k")
    # Next window starts in 10 s; current count 2 must then decay to weight 0.5.
    assert refused.retry_after == pytest.approx(15.0)


async def test_token_bucket_refills_one_token_per_interval(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(RateLimitPolicy(2, 10, Strategy.TOKEN_BUCKET), clock=clock)
    assert await limiter.consume("k")
    assert await limiter.consume("k")
    refused = await limiter.consume("k")
    assert refused.retry_after == pytest.approx(5.0)
    assert refused.reset_after == pytest.approx(10.0)
    clock.now += 5.0
    decision = await limiter.consume("k")
    assert (decision.allowed, decision.remaining) == (True, 0)
    clock.now += 100.0
    assert (await limiter.consume("k")).remaining == 1


async def test_acquire_sleeps_until_admitted(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(
        RateLimitPolicy(1, 10, Strategy.TOKEN_BUCKET), clock=clock, sleep=clock.sleep
    )
    await limiter.acquire("job")
    decision = await limiter.acquire("job", max_wait=10)
    assert decision.allowed
    assert clock.slept == [pytest.approx(10.0)]


async def test_idle_keys_are_swept(clock: FakeClock) -> None:
    policy = RateLimitPolicy(1, 10, Strategy.FIXED_WINDOW)
    limiter = InMemoryRateLimiter(policy, clock=clock, sweep_interval=30)
    for index in range(5):
        await limiter.consume(f"k{index}")
    assert len(limiter) == 5
    clock.now += 31
    await limiter.consume("fresh")
    assert len(limiter) == 1
    assert limiter.evictions == 0


async def test_refusals_store_nothing(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(RateLimitPolicy(1, 10), clock=clock)
    await limiter.consume("k", cost=1)
    await limiter.consume("k")
    assert len(limiter) == 1


async def test_a_full_table_evicts_the_oldest_tenth(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    policy = RateLimitPolicy(1, 3600)
    limiter = InMemoryRateLimiter(policy, clock=clock, max_keys=20)
    for index in range(20):
        await limiter.consume(f"k{index}")
    with caplog.at_level(logging.WARNING, logger="mic.ratelimit"):
        await limiter.consume("k20")
    assert len(limiter) == 19
    assert limiter.evictions == 2
    assert "evicted 2 live keys" in caplog.text
    # The oldest keys restart with a full allowance; the newer ones are still counted.
    assert await limiter.consume("k0")
    assert not await limiter.consume("k19")


async def test_eviction_spares_a_client_that_keeps_hammering_at_its_limit(
    clock: FakeClock,
) -> None:
    """Review regression: eviction was first-inserted-first, so flooding the table with new
    keys reset the counter of the oldest key, even one refused a moment ago."""
    policy = RateLimitPolicy(1, 3600)
    limiter = InMemoryRateLimiter(policy, clock=clock, max_keys=20)
    assert await limiter.consume("abuser")
    for index in range(100):
        await limiter.consume(f"flood-{index}")
        # The abuser keeps trying (and is refused) between the new keys.
        assert not await limiter.consume("abuser")
    assert limiter.evictions > 0
    assert not await limiter.consume("abuser")


async def test_a_full_table_of_idle_keys_is_swept_not_evicted(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(RateLimitPolicy(1, 10), clock=clock, max_keys=3)
    for index in range(3):
        await limiter.consume(f"k{index}")
    clock.now += 25
    await limiter.consume("fresh")
    assert (len(limiter), limiter.evictions) == (1, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_keys": 0}, "max_keys must be >= 1 \\(an integer\\)"),
        ({"max_keys": 2.5}, "max_keys must be >= 1 \\(an integer\\)"),
        ({"sweep_interval": 0}, "sweep_interval"),
        # Review regression: a NaN interval never came due, so idle keys were never swept.
        (
            {"sweep_interval": float("nan")},
            "sweep_interval must be > 0 \\(a finite number of seconds\\)",
        ),
        (
            {"sweep_interval": float("inf")},
            "sweep_interval must be > 0 \\(a finite number of seconds\\)",
        ),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InMemoryRateLimiter(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0, "period": 1}, "limit must be an integer >= 1"),
        ({"limit": True, "period": 1}, "limit must be an integer >= 1"),
        ({"limit": 1.5, "period": 1}, "limit must be an integer >= 1"),
        ({"limit": 1, "period": 0}, "period must be a number of seconds between 0.001"),
        ({"limit": 1, "period": float("inf")}, "period must be a number of seconds between"),
        # Review regressions: values the headers or the Redis scripts cannot carry.
        ({"limit": 1, "period": float("nan")}, "period must be a number of seconds between"),
        ({"limit": 1, "period": 1e300}, "period must be a number of seconds between"),
        ({"limit": 1, "period": True}, "period must be a number of seconds between"),
        ({"limit": 10**15, "period": 1}, r"limit must be an integer >= 1 and <= 999999999999999"),
        ({"limit": 1, "period": 1, "strategy": "token_bucket", "burst": 2.5}, "burst must be an"),
        ({"limit": 1, "period": 1, "strategy": "token_bucket", "burst": 10**15}, "burst must be"),
        ({"limit": 1, "period": 1, "burst": 2}, "burst only applies to the token bucket"),
        ({"limit": 1, "period": 1, "strategy": "token_bucket", "burst": 0}, "burst must be"),
        ({"limit": 1, "period": 1, "strategy": "leaky"}, "'leaky' is not a valid Strategy"),
    ],
)
def test_bad_policies_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimitPolicy(**kwargs)  # type: ignore[arg-type]


def test_a_policy_name_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="rate limit policy name must be a string"):
        RateLimitPolicy(1, 1, name=5)  # type: ignore[arg-type]


def test_policy_accepts_strategy_names_and_reports_capacity() -> None:
    policy = RateLimitPolicy(5, 1, "token_bucket", burst=8)  # type: ignore[arg-type]
    assert policy.strategy is Strategy.TOKEN_BUCKET
    assert policy.capacity == 8
    assert RateLimitPolicy(5, 1).capacity == 5
    assert RateLimitPolicy(5, 1).storage_id != RateLimitPolicy(5, 2).storage_id

"""One behaviour suite, run against every limiter backend (in-memory and real Redis)."""

from __future__ import annotations

import pytest

from mic.model import RateLimitedError
from mic.ratelimit import RateLimiter, RateLimitPolicy, Strategy

STRATEGIES = list(Strategy)


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_admits_up_to_the_limit_then_refuses(
    limiter: RateLimiter, strategy: Strategy
) -> None:
    policy = RateLimitPolicy(3, 60, strategy)
    decisions = [await limiter.consume("client", policy) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert all(d.limit == 3 for d in decisions)
    refused = decisions[-1]
    assert not refused
    # A full sliding window also waits for its count to decay in the next window.
    longest = 120 if strategy is Strategy.SLIDING_WINDOW else 60
    assert 0 < refused.retry_after <= longest
    assert decisions[0].retry_after == 0.0


async def test_token_bucket_refusal_waits_one_emission_interval(limiter: RateLimiter) -> None:
    policy = RateLimitPolicy(3, 60, Strategy.TOKEN_BUCKET)
    for _ in range(3):
        assert await limiter.consume("client", policy)
    refused = await limiter.consume("client", policy)
    assert 19.0 < refused.retry_after <= 20.0
    assert 59.0 < refused.reset_after <= 60.0


async def test_token_bucket_burst_is_the_capacity(limiter: RateLimiter) -> None:
    policy = RateLimitPolicy(1, 60, Strategy.TOKEN_BUCKET, burst=5)
    decisions = [await limiter.consume("client", policy) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert decisions[0].remaining == 4


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_cost_spends_several_units(limiter: RateLimiter, strategy: Strategy) -> None:
    policy = RateLimitPolicy(3, 60, strategy)
    first = await limiter.consume("client", policy, cost=2)
    assert (first.allowed, first.remaining) == (True, 1)
    assert not (await limiter.consume("client", policy, cost=2)).allowed
    assert (await limiter.consume("client", policy, cost=1)).allowed


@pytest.mark.parametrize("cost", [0, -1, 4, True, 1.5])
async def test_impossible_costs_are_rejected(limiter: RateLimiter, cost: object) -> None:
    policy = RateLimitPolicy(3, 60)
    with pytest.raises(ValueError, match="cost must be an integer between 1 and 3"):
        await limiter.consume("client", policy, cost=cost)  # type: ignore[arg-type]


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_keys_and_policies_count_separately(limiter: RateLimiter, strategy: Strategy) -> None:
    strict = RateLimitPolicy(1, 60, strategy)
    loose = RateLimitPolicy(2, 60, strategy)
    assert await limiter.consume("a", strict)
    assert not await limiter.consume("a", strict)
    assert await limiter.consume("b", strict)
    assert await limiter.consume("a", loose)


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_reset_forgets_the_key(limiter: RateLimiter, strategy: Strategy) -> None:
    policy = RateLimitPolicy(1, 60, strategy)
    assert await limiter.consume("a", policy)
    assert not await limiter.consume("a", policy)
    await limiter.reset("a", policy)
    assert await limiter.consume("a", policy)


async def test_default_policy_applies_when_none_is_passed(limiter: RateLimiter) -> None:
    with pytest.raises(ValueError, match="no rate limit policy"):
        await limiter.consume("a")
    limiter.policy = RateLimitPolicy(1, 60)
    assert await limiter.consume("a")
    assert not await limiter.consume("a")
    await limiter.reset("a")
    assert await limiter.consume("a")


async def test_acquire_admits_at_once_when_there_is_room(limiter: RateLimiter) -> None:
    decision = await limiter.acquire("job", RateLimitPolicy(2, 60))
    assert (decision.allowed, decision.remaining) == (True, 1)


async def test_acquire_gives_up_past_max_wait(limiter: RateLimiter) -> None:
    # A token bucket: its wait (one token per 60 s) does not depend on where the clock stands
    # in an aligned window, so the refusal is certain (a fixed window could end within 1 s).
    policy = RateLimitPolicy(1, 60, Strategy.TOKEN_BUCKET)
    await limiter.acquire("job", policy)
    with pytest.raises(RateLimitedError, match="not available within 1 seconds") as caught:
        await limiter.acquire("job", policy, max_wait=1)
    assert caught.value.http_status_code == 429
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 1

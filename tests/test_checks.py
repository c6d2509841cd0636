"""One rule for durations and counts across every options class (`mic._checks`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from mic._checks import check_count, check_duration
from mic.auth import RemoteJwks
from mic.eventbus import SubscriptionOptions
from mic.idempotency import Idempotency
from mic.outbox import DispatcherOptions
from mic.ratelimit import InMemoryRateLimiter, RateLimitPolicy
from mic.resilience import RetryPolicy

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize("value", [NAN, INF, -INF, 0, -1, True, "1", None])
def test_a_positive_duration_refuses_what_is_not_one(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^delay must be > 0 \(a finite number of seconds\)"):
        check_duration("delay", value)


@pytest.mark.parametrize("value", [0, 0.0, 1e-9, 5, 2.5])
def test_durations_in_range_pass(value: float) -> None:
    check_duration("delay", value, allow_zero=True, at_most=5)


def test_a_duration_bound_and_none_are_named() -> None:
    check_duration("ttl", None, optional=True)
    with pytest.raises(ValueError, match=r"ttl must be >= 0 and <= 10 \(.*, or None\), got 11"):
        check_duration("ttl", 11, allow_zero=True, at_most=10, optional=True)


@pytest.mark.parametrize("value", [0, -3, 2.5, NAN, True, "2", None])
def test_a_count_refuses_what_is_not_one(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^size must be >= 1 \(an integer\)"):
        check_count("size", value)


def test_a_count_range_is_named() -> None:
    check_count("size", 0, minimum=0, maximum=3)
    with pytest.raises(ValueError, match=r"size must be between 0 and 3 \(an integer\), got 4"):
        check_count("size", 4, minimum=0, maximum=3)


# Issue 15: two options classes accepted NaN while RetryPolicy refused it.
@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda v: SubscriptionOptions(retry_delay=v), "retry_delay"),
        (lambda v: SubscriptionOptions(max_retry_delay=v), "max_retry_delay"),
        (lambda v: SubscriptionOptions(ack_timeout=v), "ack_timeout"),
        (lambda v: SubscriptionOptions(poll_timeout=v), "poll_timeout"),
        (lambda v: SubscriptionOptions(drain_timeout=v), "drain_timeout"),
        (lambda v: DispatcherOptions(poll_interval=v), "poll_interval"),
        (lambda v: DispatcherOptions(publish_timeout=v), "publish_timeout"),
        (lambda v: DispatcherOptions(retry_delay=v), "retry_delay"),
        (lambda v: DispatcherOptions(max_retry_delay=v), "max_retry_delay"),
        (lambda v: RetryPolicy(base_delay=v), "base_delay"),
        (lambda v: RetryPolicy(deadline=v), "deadline"),
        (lambda v: Idempotency(ttl=v), "ttl"),
        (lambda v: Idempotency(wait=v), "wait"),
        (lambda v: Idempotency(poll_interval=v), "poll_interval"),
        (lambda v: RemoteJwks("https://idp.example/jwks", max_age=v), "max_age"),
        (lambda v: RemoteJwks("https://idp.example/jwks", cooldown=v), "cooldown"),
        (
            lambda v: InMemoryRateLimiter(RateLimitPolicy(5, 60), sweep_interval=v),
            "sweep_interval",
        ),
    ],
)
@pytest.mark.parametrize("value", [NAN, INF])
def test_every_options_class_refuses_nan_and_infinity(
    build: Callable[[float], object], name: str, value: float
) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must be .*a finite number of seconds"):
        build(value)


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda v: SubscriptionOptions(max_attempts=v), "max_attempts"),
        (lambda v: SubscriptionOptions(batch_size=v), "batch_size"),
        (lambda v: DispatcherOptions(batch_size=v), "batch_size"),
        (lambda v: RetryPolicy(attempts=v), "attempts"),
    ],
)
@pytest.mark.parametrize("value", [2.5, True, 0])
def test_every_count_option_refuses_fractions_and_booleans(
    build: Callable[[Any], object], name: str, value: Any
) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must be >= 1 \(an integer\)"):
        build(value)

"""`retry`: backoff with full jitter, deadlines, Retry-After, and what is not retried."""

from __future__ import annotations

import pytest

from mic.model import NotFoundError, RateLimitedError, TransientError
from mic.resilience import Retry, RetryPolicy, retry, retry_after_of


class FakeTime:
    """Clock and sleep in one: sleeping moves the clock, nothing really waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Flaky:
    """Fails with the given errors, then answers."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, value: str = "done") -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return value


def runner(time: FakeTime, draw: float = 1.0, **policy: object) -> Retry:
    return Retry(RetryPolicy(**policy), sleep=time.sleep, clock=time.clock, random=lambda: draw)  # type: ignore[arg-type]


async def test_backoff_grows_exponentially_with_full_jitter() -> None:
    time = FakeTime()
    flaky = Flaky(*(TransientError(message=f"try {i}") for i in range(4)))
    result = await runner(time, draw=0.5, attempts=5, base_delay=1.0, max_delay=5.0).call(
        flaky, "v"
    )
    assert result == "v"
    assert flaky.calls == 5
    # Each wait is a uniform draw (0.5 here) of min(max_delay, base * 2**n).
    assert time.sleeps == [0.5, 1.0, 2.0, 2.5]


async def test_gives_up_after_the_last_attempt_with_a_note() -> None:
    time = FakeTime()
    flaky = Flaky(*(TransientError(message="down") for _ in range(3)))
    with pytest.raises(TransientError, match="down") as caught:
        await runner(time, attempts=3).call(flaky)
    assert flaky.calls == 3
    assert caught.value.__notes__ == ["gave up after 3 attempts"]


async def test_other_errors_are_raised_at_once() -> None:
    time = FakeTime()
    flaky = Flaky(NotFoundError(message="gone"))
    with pytest.raises(NotFoundError, match="gone"):
        await runner(time).call(flaky)
    assert (flaky.calls, time.sleeps) == (1, [])


async def test_retry_after_is_a_floor_for_the_wait() -> None:
    time = FakeTime()
    flaky = Flaky(RateLimitedError(message="slow down", retry_after=3))
    result = await runner(time, draw=0.1, retry_on=(RateLimitedError,)).call(flaky)
    assert result == "done"
    assert time.sleeps == [3.0]


async def test_retry_after_can_be_ignored() -> None:
    time = FakeTime()
    flaky = Flaky(TransientError(message="busy", retry_after=3))
    await runner(time, draw=0.5, base_delay=1.0, respect_retry_after=False).call(flaky)
    assert time.sleeps == [0.5]


async def test_a_retry_after_beyond_max_delay_gives_up() -> None:
    time = FakeTime()
    flaky = Flaky(TransientError(message="come back tomorrow", retry_after=86400))
    with pytest.raises(TransientError, match="tomorrow") as caught:
        await runner(time, max_delay=30).call(flaky)
    assert time.sleeps == []
    assert "longest allowed delay" in caught.value.__notes__[0]


async def test_the_deadline_stops_retrying() -> None:
    time = FakeTime()
    flaky = Flaky(*(TransientError(message="down") for _ in range(10)))
    with pytest.raises(TransientError, match="down") as caught:
        await runner(time, attempts=10, base_delay=1.0, max_delay=4.0, deadline=5.0).call(flaky)
    # Waits 1 + 2 = 3 s; the next (4 s) would end at 7 s, past the 5 s deadline.
    assert time.sleeps == [1.0, 2.0]
    assert "deadline" in caught.value.__notes__[0]


async def test_retry_after_from_any_exception_attribute() -> None:
    class ThrottledError(Exception):
        retry_after = 2.5

    time = FakeTime()
    flaky = Flaky(ThrottledError())
    await runner(time, draw=0.0, retry_on=(ThrottledError,)).call(flaky)
    assert time.sleeps == [2.5]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        (1.5, 1.5),
        (None, None),
        (True, None),
        ("3", None),
        (-1, None),
        (float("nan"), None),
    ],
)
def test_retry_after_of_reads_only_usable_numbers(value: object, expected: float | None) -> None:
    error = Exception()
    error.retry_after = value  # type: ignore[attr-defined]
    assert retry_after_of(error) == expected


async def test_listeners_see_each_retry(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[int, str, float]] = []

    def broken(attempt: int, error: BaseException, delay: float) -> None:
        raise RuntimeError("listener bug")

    time = FakeTime()
    retrying = Retry(
        RetryPolicy(base_delay=1.0),
        sleep=time.sleep,
        clock=time.clock,
        random=lambda: 1.0,
        on_retry=(lambda a, e, d: seen.append((a, str(e), d)), broken),
    )
    await retrying.call(Flaky(TransientError(message="x")))
    assert seen == [(1, "x", 1.0)]
    assert "retry listener failed" in caplog.text


async def test_decorator_forms() -> None:
    calls = 0

    @retry
    async def bare() -> int:
        return 1

    @retry(attempts=2, base_delay=0.0)
    async def configured() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise TransientError(message="first")
        return 2

    assert await bare() == 1
    assert await configured() == 2
    assert configured.__name__ == "configured"
    runner_ = retry(policy=RetryPolicy(attempts=1))
    assert isinstance(runner_, Retry)
    assert await runner_.call(Flaky()) == "done"


def test_decorating_a_sync_function_is_refused() -> None:
    with pytest.raises(TypeError, match="retry needs an async function"):
        retry(lambda: None)  # type: ignore[arg-type, return-value]


def test_policy_and_options_together_are_refused() -> None:
    with pytest.raises(TypeError, match="either policy= or RetryPolicy fields"):
        retry(policy=RetryPolicy(), attempts=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, "attempts must be >= 1 \\(an integer\\)"),
        ({"base_delay": -1}, "base_delay must be >= 0 \\(a finite number of seconds\\)"),
        ({"multiplier": 0.5}, "multiplier must be a finite number >= 1"),
        ({"deadline": 0}, "deadline must be > 0 \\(a finite number of seconds, or None\\)"),
        # Review regressions: NaN passed every check and then slept NaN seconds or never
        # hit the deadline; a fractional attempt count was silently rounded up.
        ({"attempts": 2.5}, "attempts must be >= 1 \\(an integer\\)"),
        ({"attempts": True}, "attempts must be >= 1 \\(an integer\\)"),
        ({"base_delay": float("nan")}, "base_delay must be >= 0 \\(a finite"),
        ({"max_delay": float("inf")}, "max_delay must be >= 0 \\(a finite"),
        ({"multiplier": float("nan")}, "multiplier must be a finite number >= 1"),
        (
            {"deadline": float("nan")},
            "deadline must be > 0 \\(a finite number of seconds, or None\\)",
        ),
        ({"retry_on": ()}, "retry_on must name at least one exception type"),
    ],
)
def test_bad_policies_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_backoff_stays_finite_for_huge_attempt_numbers() -> None:
    assert RetryPolicy(max_delay=7.0).backoff(10_000) == 7.0


async def test_rate_limited_errors_are_retried_by_default() -> None:
    time = FakeTime()
    flaky = Flaky(RateLimitedError(message="slow down", retry_after=2))
    assert await runner(time, draw=0.0).call(flaky) == "done"
    assert time.sleeps == [2.0]


async def test_retry_if_narrows_retry_on() -> None:
    seen: list[BaseException] = []

    def only_busy(error: BaseException) -> bool:
        seen.append(error)
        return isinstance(error, TransientError) and error.code == "busy"

    time = FakeTime()
    busy, down = TransientError("busy"), TransientError("down", "down for good")
    flaky = Flaky(busy, down, TransientError("busy"))
    with pytest.raises(TransientError, match="down for good") as caught:
        await runner(time, attempts=5, retry_if=only_busy).call(flaky)
    assert (flaky.calls, seen[:2]) == (2, [busy, down])
    assert not hasattr(caught.value, "__notes__")  # refused, not given up


async def test_retry_if_is_not_asked_about_errors_outside_retry_on() -> None:
    asked: list[BaseException] = []

    def ask(error: BaseException) -> bool:
        asked.append(error)
        return True

    time = FakeTime()
    flaky = Flaky(NotFoundError(message="gone"))
    with pytest.raises(NotFoundError, match="gone"):
        await runner(time, retry_if=ask).call(flaky)
    assert asked == []


def test_should_retry_combines_types_and_predicate() -> None:
    policy = RetryPolicy(retry_if=lambda error: "again" in str(error))
    assert policy.should_retry(TransientError(message="again"))
    assert not policy.should_retry(TransientError(message="never"))
    assert not policy.should_retry(NotFoundError(message="again"))
    assert RetryPolicy().should_retry(RateLimitedError())
    assert not RetryPolicy(retry_on=(TransientError,)).should_retry(RateLimitedError())


def test_a_retry_if_that_cannot_be_called_is_refused() -> None:
    with pytest.raises(TypeError, match="retry_if must be a callable"):
        RetryPolicy(retry_if="yes")  # type: ignore[arg-type]


async def test_no_attempt_starts_exactly_at_the_deadline() -> None:
    time = FakeTime()
    flaky = Flaky(TransientError(message="down"), TransientError(message="down"))
    with pytest.raises(TransientError, match="down"):
        await runner(time, attempts=5, base_delay=2.0, max_delay=2.0, deadline=2.0).call(flaky)
    assert (flaky.calls, time.sleeps) == (1, [])

"""`CircuitBreaker`: thresholds, half-open probes, listeners; async and sync use."""

from __future__ import annotations

import asyncio

import pytest

from mic.model import NotFoundError, TransientError
from mic.resilience import CircuitBreaker, CircuitOpenError, CircuitState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock, **kwargs: object) -> tuple[CircuitBreaker, list[tuple[str, str]]]:
    changes: list[tuple[str, str]] = []

    def listener(breaker: CircuitBreaker, old: CircuitState, new: CircuitState) -> None:
        changes.append((old.value, new.value))

    options: dict[str, object] = {"failure_threshold": 3, "recovery_time": 10.0}
    options.update(kwargs)
    breaker = CircuitBreaker("payments", clock=clock, on_state_change=listener, **options)  # type: ignore[arg-type]
    return breaker, changes


async def fail() -> None:
    raise TransientError(message="down")


async def succeed() -> str:
    return "ok"


async def test_consecutive_failures_open_the_circuit() -> None:
    clock = Clock()
    breaker, changes = make(clock)
    for _ in range(2):
        with pytest.raises(TransientError, match="down"):
            await breaker.call(fail)
    assert await breaker.call(succeed) == "ok"  # a success resets the streak
    for _ in range(3):
        with pytest.raises(TransientError, match="down"):
            await breaker.call(fail)
    assert breaker.state is CircuitState.OPEN
    assert changes == [("closed", "open")]
    with pytest.raises(CircuitOpenError, match="Circuit 'payments' is open") as caught:
        await breaker.call(succeed)
    assert caught.value.http_status_code == 503
    assert caught.value.headers["Retry-After"] == "10"
    assert caught.value.breaker == "payments"


async def test_failure_rate_opens_the_circuit() -> None:
    clock = Clock()
    breaker, _ = make(
        clock, failure_threshold=None, failure_rate_threshold=0.5, window_size=4, minimum_calls=4
    )
    with pytest.raises(TransientError):
        await breaker.call(fail)
    with pytest.raises(TransientError):
        await breaker.call(fail)
    assert breaker.state is CircuitState.CLOSED  # 2 calls: below minimum_calls
    assert breaker.failure_rate == 1.0
    await breaker.call(succeed)
    await breaker.call(succeed)
    assert breaker.state is CircuitState.CLOSED  # the rate is checked on failures only
    with pytest.raises(TransientError):
        await breaker.call(fail)  # window: fail, succeed, succeed, fail -> 0.5
    assert breaker.state is CircuitState.OPEN


async def test_a_failure_rate_below_the_threshold_keeps_it_closed() -> None:
    clock = Clock()
    breaker, _ = make(
        clock, failure_threshold=None, failure_rate_threshold=0.5, window_size=4, minimum_calls=4
    )
    for call in (succeed, succeed, succeed):
        await breaker.call(call)
    with pytest.raises(TransientError):
        await breaker.call(fail)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.failure_rate == 0.25


async def test_half_open_allows_bounded_probes_and_closes_on_success() -> None:
    clock = Clock()
    breaker, changes = make(clock, half_open_max_calls=2, success_threshold=2)
    for _ in range(3):
        with pytest.raises(TransientError):
            await breaker.call(fail)
    clock.now += 10.0
    assert breaker.state is CircuitState.HALF_OPEN
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "probed"

    probes = [asyncio.create_task(breaker.call(slow)) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(CircuitOpenError, match="is open"):
        await breaker.call(succeed)  # both probe slots are taken
    release.set()
    assert await asyncio.gather(*probes) == ["probed", "probed"]
    assert breaker.state is CircuitState.CLOSED
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


async def test_a_failed_probe_reopens_the_circuit() -> None:
    clock = Clock()
    breaker, changes = make(clock)
    for _ in range(3):
        with pytest.raises(TransientError):
            await breaker.call(fail)
    clock.now += 10.0
    with pytest.raises(TransientError, match="down"):
        await breaker.call(fail)
    assert breaker.state is CircuitState.OPEN
    assert changes[-1] == ("half_open", "open")
    clock.now += 9.0
    with pytest.raises(CircuitOpenError):
        await breaker.call(succeed)


async def test_uncounted_errors_pass_through_as_successes() -> None:
    clock = Clock()
    breaker, _ = make(clock, failure_threshold=1)

    async def missing() -> None:
        raise NotFoundError(message="nope")

    for _ in range(3):
        with pytest.raises(NotFoundError, match="nope"):
            await breaker.call(missing)
    assert breaker.state is CircuitState.CLOSED


async def test_counted_exceptions_are_configurable() -> None:
    clock = Clock()
    breaker, _ = make(clock, failure_threshold=1, counted_exceptions=(ConnectionError,))

    @breaker
    async def connect() -> None:
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError, match="refused"):
        await connect()
    assert breaker.state is CircuitState.OPEN


async def test_a_cancelled_probe_frees_its_slot_without_counting() -> None:
    clock = Clock()
    breaker, _ = make(clock, failure_threshold=1)
    with pytest.raises(TransientError):
        await breaker.call(fail)
    clock.now += 10.0
    task = asyncio.create_task(breaker.call(asyncio.sleep, 10))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state is CircuitState.HALF_OPEN
    assert await breaker.call(succeed) == "ok"
    assert breaker.state is CircuitState.CLOSED


async def test_cancellation_while_closed_counts_nothing() -> None:
    clock = Clock()
    breaker, _ = make(clock, failure_threshold=1)
    task = asyncio.create_task(breaker.call(asyncio.sleep, 10))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.failure_rate == 0.0


async def test_outcomes_from_a_previous_state_are_ignored() -> None:
    clock = Clock()
    breaker, _ = make(clock, failure_threshold=1)
    release = asyncio.Event()

    async def late_failure() -> None:
        await release.wait()
        raise TransientError(message="late")

    slow = asyncio.create_task(breaker.call(late_failure))
    await asyncio.sleep(0)
    breaker.reset()  # generation moves on: the slow call's outcome is stale
    with pytest.raises(TransientError):
        await breaker.call(fail)
    clock.now += 10.0
    assert await breaker.call(succeed) == "ok"
    release.set()
    with pytest.raises(TransientError, match="late"):
        await slow
    assert breaker.state is CircuitState.CLOSED


async def test_async_context_manager_and_decorator() -> None:
    clock = Clock()
    breaker, _ = make(clock, failure_threshold=2)
    async with breaker:
        pass
    with pytest.raises(TransientError):
        async with breaker:
            raise TransientError(message="one")

    @breaker
    async def double(value: int) -> int:
        return value * 2

    assert await double(21) == 42
    assert double.__name__ == "double"


def test_sync_use_context_manager_decorator_and_call() -> None:
    clock = Clock()
    breaker, changes = make(clock, failure_threshold=2)

    @breaker
    def flaky(fail_now: bool) -> str:
        if fail_now:
            raise TransientError(message="sync down")
        return "fine"

    assert flaky(False) == "fine"
    assert breaker.call_sync(lambda: 5) == 5
    with pytest.raises(TransientError, match="sync down"):
        flaky(True)
    with pytest.raises(TransientError, match="sync down"), breaker:
        raise TransientError(message="sync down")
    assert changes == [("closed", "open")]
    with pytest.raises(CircuitOpenError):
        flaky(False)
    with pytest.raises(CircuitOpenError):
        breaker.call_sync(lambda: 5)


def test_nested_blocks_on_one_breaker_release_their_own_permits() -> None:
    breaker, _ = make(Clock())
    with breaker, breaker:
        pass
    assert breaker.state is CircuitState.CLOSED


def test_exit_without_enter_is_an_error() -> None:
    breaker, _ = make(Clock())
    with pytest.raises(RuntimeError, match="exit without a matching enter"):
        breaker.__exit__(None, None, None)


def test_a_failing_listener_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(breaker: CircuitBreaker, old: CircuitState, new: CircuitState) -> None:
        raise RuntimeError("listener bug")

    breaker = CircuitBreaker("x", failure_threshold=1, on_state_change=(broken,))
    with pytest.raises(TransientError), breaker:
        raise TransientError(message="boom")
    assert breaker.state is CircuitState.OPEN
    assert "state listener of circuit 'x' failed" in caplog.text
    assert repr(breaker) == "CircuitBreaker('x', state=open)"
    breaker.reset()
    assert breaker.state is CircuitState.CLOSED


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_threshold": None}, "set failure_threshold or failure_rate_threshold"),
        ({"failure_threshold": 0}, "failure_threshold must be >= 1"),
        ({"failure_rate_threshold": 1.5}, r"failure_rate_threshold must be in \(0, 1\]"),
        ({"minimum_calls": 30}, "minimum_calls <= window_size"),
        ({"recovery_time": -1}, "recovery_time must be >= 0"),
        ({"success_threshold": 2}, "success_threshold <= half_open_max_calls"),
        ({"counted_exceptions": ()}, "counted_exceptions must not be empty"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CircuitBreaker("bad", **kwargs)  # type: ignore[arg-type]

"""`CircuitBreaker`: thresholds, half-open probes, listeners; async and sync use."""

from __future__ import annotations

import asyncio
import threading

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
    with pytest.raises(TransientError, match=r"^down$"):
        await breaker.call(fail)
    with pytest.raises(TransientError, match=r"^down$"):
        await breaker.call(fail)
    assert breaker.state is CircuitState.CLOSED  # 2 calls: below minimum_calls
    assert breaker.failure_rate == 1.0
    await breaker.call(succeed)
    await breaker.call(succeed)
    assert breaker.state is CircuitState.CLOSED  # the rate is checked on failures only
    with pytest.raises(TransientError, match=r"^down$"):
        await breaker.call(fail)  # window: fail, succeed, succeed, fail -> 0.5
    assert breaker.state is CircuitState.OPEN


async def test_a_failure_rate_below_the_threshold_keeps_it_closed() -> None:
    clock = Clock()
    breaker, _ = make(
        clock, failure_threshold=None, failure_rate_threshold=0.5, window_size=4, minimum_calls=4
    )
    for call in (succeed, succeed, succeed):
        await breaker.call(call)
    with pytest.raises(TransientError, match=r"^down$"):
        await breaker.call(fail)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.failure_rate == 0.25


async def test_half_open_allows_bounded_probes_and_closes_on_success() -> None:
    clock = Clock()
    breaker, changes = make(clock, half_open_max_calls=2, success_threshold=2)
    for _ in range(3):
        with pytest.raises(TransientError, match=r"^down$"):
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
        with pytest.raises(TransientError, match=r"^down$"):
            await breaker.call(fail)
    clock.now += 10.0
    with pytest.raises(TransientError, match="down"):
        await breaker.call(fail)
    assert breaker.state is CircuitState.OPEN
    assert changes[-1] == ("half_open", "open")
    clock.now += 9.0
    with pytest.raises(CircuitOpenError, match="Circuit 'payments' is open"):
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
    with pytest.raises(TransientError, match=r"^down$"):
        await breaker.call(fail)
    clock.now += 10.0
    task = asyncio.create_task(breaker.call(asyncio.sleep, 10))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError, match=r"^$"):
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
    with pytest.raises(asyncio.CancelledError, match=r"^$"):
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
    with pytest.raises(TransientError, match=r"^down$"):
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
    with pytest.raises(TransientError, match=r"^one$"):
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
    with pytest.raises(CircuitOpenError, match="is open; the call was not attempted"):
        flaky(False)
    with pytest.raises(CircuitOpenError, match="is open; the call was not attempted"):
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
    with pytest.raises(TransientError, match=r"^boom$"), breaker:
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
        ({"failure_threshold": 0}, "failure_threshold must be an integer >= 1"),
        ({"failure_threshold": 2.5}, "failure_threshold must be an integer >= 1"),
        ({"half_open_max_calls": 1.5}, "half_open_max_calls and success_threshold must be"),
        ({"window_size": True}, "window_size, minimum_calls"),
        # Review regression: a NaN recovery time kept the circuit open for ever.
        ({"recovery_time": float("nan")}, "recovery_time must be a finite number >= 0"),
        ({"recovery_time": float("inf")}, "recovery_time must be a finite number >= 0"),
        ({"failure_rate_threshold": 1.5}, r"failure_rate_threshold must be in \(0, 1\]"),
        ({"minimum_calls": 30}, "minimum_calls <= window_size"),
        ({"recovery_time": -1}, "recovery_time must be a finite number >= 0"),
        ({"success_threshold": 2}, "success_threshold <= half_open_max_calls"),
        ({"counted_exceptions": ()}, "counted_exceptions must not be empty"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CircuitBreaker("bad", **kwargs)  # type: ignore[arg-type]


# --- Review regressions: the half-open bound under heavy concurrency --------------------


async def _opened(clock: Clock, **kwargs: object) -> CircuitBreaker:
    breaker, _ = make(clock, **kwargs)
    for _ in range(3):
        with pytest.raises(TransientError, match=r"^down$"):
            await breaker.call(fail)
    clock.now += 10.0
    return breaker


async def test_exactly_n_probes_among_many_concurrent_callers() -> None:
    breaker = await _opened(Clock(), half_open_max_calls=3, success_threshold=3)
    release = asyncio.Event()
    running = peak = 0

    async def probe() -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        return "probed"

    calls = [asyncio.create_task(breaker.call(probe)) for _ in range(200)]
    # The refusals finish on their first step: wait until 197 are done.
    refused = asyncio.Event()
    for task in calls:
        task.add_done_callback(
            lambda _: refused.set() if sum(t.done() for t in calls) >= 197 else None
        )
    await asyncio.wait_for(refused.wait(), timeout=30)
    release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert results.count("probed") == 3
    assert sum(isinstance(r, CircuitOpenError) for r in results) == 197
    assert peak == 3
    assert breaker.state is CircuitState.CLOSED


async def test_a_probe_still_running_from_an_earlier_round_counts_against_the_bound() -> None:
    """Review regression: re-opening forgot running probes, so the next half-open round
    let `half_open_max_calls` new probes run beside them."""
    clock = Clock()
    breaker = await _opened(clock, half_open_max_calls=2, success_threshold=2)
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "late"

    straggler = asyncio.create_task(breaker.call(slow))
    await asyncio.sleep(0)
    with pytest.raises(TransientError, match="down"):
        await breaker.call(fail)  # the other probe fails: open again
    clock.now += 10.0
    assert breaker.state is CircuitState.HALF_OPEN
    second = asyncio.create_task(breaker.call(slow))
    await asyncio.sleep(0)
    with pytest.raises(CircuitOpenError, match="is open"):
        await breaker.call(succeed)  # the straggler and `second` fill the two slots
    release.set()
    assert await asyncio.gather(straggler, second) == ["late", "late"]
    # The straggler's outcome belongs to the earlier round; `second` is one success of two.
    assert breaker.state is CircuitState.HALF_OPEN
    assert await breaker.call(succeed) == "ok"
    assert breaker.state is CircuitState.CLOSED


def test_the_sync_breaker_admits_exactly_n_probes_across_threads() -> None:
    clock = Clock()
    breaker, _ = make(clock, half_open_max_calls=2, success_threshold=2)
    for _ in range(3):
        with pytest.raises(TransientError, match=r"^down$"):
            breaker.call_sync(_fail_sync)
    clock.now += 10.0
    threads_count = 16
    start = threading.Barrier(threads_count)
    release = threading.Event()
    lock = threading.Lock()
    outcomes: list[str] = []
    running = peak = 0

    def probe() -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        assert release.wait(timeout=30)
        with lock:
            running -= 1
        return "probed"

    def worker() -> None:
        start.wait(timeout=30)
        try:
            outcome = breaker.call_sync(probe)
        except CircuitOpenError:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for _ in range(3000):  # the refused threads finish at once; wait (up to 30 s) for them
        with lock:
            if len(outcomes) == threads_count - 2:
                break
        release.wait(timeout=0.01)
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["probed"] * 2 + ["refused"] * (threads_count - 2)
    assert peak == 2
    assert breaker.state is CircuitState.CLOSED


def _fail_sync() -> None:
    raise TransientError(message="down")

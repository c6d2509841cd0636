"""The one backoff and polling helper (`mic._waiting`), on a fake clock and sleep."""

from __future__ import annotations

import pytest

from mic._waiting import Poller, exponential_backoff


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (6, 10.0), (5_000, 10.0)]
)
def test_backoff_doubles_up_to_the_cap(attempt: int, expected: float) -> None:
    assert expected == exponential_backoff(0.5, attempt, cap=10.0)


def test_backoff_survives_a_power_past_the_float_range() -> None:
    assert exponential_backoff(1.0, 10_000, cap=7.0, multiplier=1e10) == 7.0


async def test_a_poller_grows_its_wait_and_stops_at_the_budget() -> None:
    fake = FakeTime()
    poller = Poller(
        interval=1.0, budget=10.0, growth=2.0, max_interval=4.0, clock=fake.clock, sleep=fake.sleep
    )

    results = [await poller.wait() for _ in range(6)]

    assert [True, True, True, True, False, False] == results
    assert [1.0, 2.0, 4.0, 3.0] == fake.sleeps  # the last wait is what is left of the budget
    assert poller.remaining() == 0.0


async def test_a_poller_without_budget_never_stops() -> None:
    fake = FakeTime()
    poller = Poller(interval=0.25, clock=fake.clock, sleep=fake.sleep)

    assert all([await poller.wait() for _ in range(100)])
    assert poller.remaining() is None
    assert fake.now == pytest.approx(125.0)


async def test_a_whole_wait_that_does_not_fit_is_refused_without_sleeping() -> None:
    fake = FakeTime()
    poller = Poller(interval=0.0, budget=5.0, clock=None, sleep=fake.sleep)

    assert await poller.wait(3.0, whole=True)
    assert not await poller.wait(2.5, whole=True)
    assert await poller.wait(2.0, whole=True)
    assert [3.0, 2.0] == fake.sleeps

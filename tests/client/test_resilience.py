"""`ServiceHttpClient` with `mic.resilience`: its retry policy and a real circuit breaker."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from mic.client import ServiceHttpClient, SyncServiceHttpClient, UpstreamServerError
from mic.client._retry import HttpAttemptRule, is_safe_to_repeat
from mic.model import DomainError, NotFoundError, RateLimitedError, TransientError
from mic.resilience import CircuitBreaker, CircuitOpenError, CircuitState, RetryPolicy
from tests.client.test_client import FAST, Recorder, problem

REFUSED = httpx.ConnectError("refused", request=httpx.Request("GET", "http://billing/x"))


def client(recorder: Recorder, **options: Any) -> ServiceHttpClient:
    options.setdefault("retry", FAST)
    return ServiceHttpClient("http://billing", transport=httpx.MockTransport(recorder), **options)


class FakeClock:
    """A monotonic clock the test moves by hand (the breaker's recovery time)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_default_policy_is_bounded() -> None:
    service = ServiceHttpClient("http://billing")
    assert service.retry is ServiceHttpClient.default_retry
    assert (service.retry.attempts, service.retry.deadline) == (3, 10.0)
    assert service.retry.should_retry(RateLimitedError())
    asyncio.run(service.aclose())


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"])
async def test_idempotent_methods_are_retried(method: str) -> None:
    recorder = Recorder(problem(503, "busy"), httpx.Response(200))
    async with client(recorder) as service:
        assert (await service.request(method, "/x")).status_code == 200
    assert len(recorder.requests) == 2


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_other_methods_are_not_retried(method: str) -> None:
    recorder = Recorder(problem(503, "busy"), httpx.Response(200))
    async with client(recorder) as service:
        with pytest.raises(TransientError, match="d"):
            await service.request(method, "/x")
    assert len(recorder.requests) == 1


def test_safety_rule() -> None:
    assert is_safe_to_repeat("PATCH", {"idempotency-key": "k"})
    assert not is_safe_to_repeat("PATCH", {"x-idempotency": "k"})
    rule = HttpAttemptRule(safe=True)
    assert not rule(TransientError())  # the breaker refused: never retried
    rule.started, rule.status = True, 500
    assert not rule(UpstreamServerError())
    rule.begin()
    assert not rule.started
    assert not rule.unsent
    assert rule.status is None


async def test_500_is_not_retried_but_counts_for_the_breaker() -> None:
    recorder = Recorder(httpx.Response(500, text="boom"))
    breaker = CircuitBreaker("billing", failure_threshold=2)
    async with client(recorder, breaker=breaker) as service:
        for _ in range(2):
            with pytest.raises(UpstreamServerError, match="answered 500"):
                await service.get("/x")
        assert len(recorder.requests) == 2
        assert breaker.state is CircuitState.OPEN
        with pytest.raises(CircuitOpenError, match="not attempted"):
            await service.get("/x")
    assert len(recorder.requests) == 2


async def test_503_storm_opens_the_breaker_and_the_open_circuit_is_not_retried() -> None:
    recorder = Recorder(problem(503, "busy"))
    breaker = CircuitBreaker("billing", failure_threshold=2, recovery_time=30.0, clock=FakeClock())
    policy = RetryPolicy(attempts=5, base_delay=0.001, max_delay=60.0, deadline=60.0)
    async with client(recorder, breaker=breaker, retry=policy) as service:
        with pytest.raises(CircuitOpenError, match="'billing' is open") as raised:
            await service.get("/x")
        # Two attempts sent and counted, then the breaker refused; its 30 s Retry-After
        # fits max_delay and the deadline, yet the client does not wait for it.
        assert len(recorder.requests) == 2
        assert (raised.value.code, raised.value.retry_after) == ("circuit_open", 30.0)
        with pytest.raises(CircuitOpenError, match="not attempted"):
            await service.get("/x")
    assert len(recorder.requests) == 2


async def test_half_open_probe_through_the_client_closes_the_circuit() -> None:
    clock = FakeClock()
    recorder = Recorder(problem(503, "busy"), httpx.Response(200, json="ok"))
    breaker = CircuitBreaker("billing", failure_threshold=1, recovery_time=5.0, clock=clock)
    async with client(recorder, breaker=breaker, retry=RetryPolicy(attempts=1)) as service:
        with pytest.raises(TransientError, match="d"):
            await service.get("/x")
        assert breaker.state.value == "open"
        clock.now = 5.0
        assert (await service.get("/x")).json() == "ok"
    assert breaker.state is CircuitState.CLOSED


@pytest.mark.parametrize(
    "failure",
    [REFUSED, httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("reset")],
)
async def test_connection_failures_and_timeouts_count(failure: Exception) -> None:
    breaker = CircuitBreaker("billing", failure_threshold=1)
    async with client(Recorder(failure), breaker=breaker, retry=RetryPolicy(attempts=1)) as s:
        with pytest.raises(TransientError, match="GET /x"):
            await s.get("/x")
    assert breaker.state is CircuitState.OPEN


async def test_4xx_never_counts_even_for_a_breaker_counting_everything() -> None:
    breaker = CircuitBreaker("billing", failure_threshold=1, counted_exceptions=(Exception,))
    recorder = Recorder(problem(404, "nope"), problem(429, "slow_down"))
    async with client(recorder, breaker=breaker, retry=RetryPolicy(attempts=1)) as service:
        with pytest.raises(NotFoundError, match="d"):
            await service.get("/x")
        with pytest.raises(RateLimitedError, match="d"):
            await service.get("/x")
    assert (breaker.state, breaker.failure_rate) == (CircuitState.CLOSED, 0.0)


async def test_unexpected_error_inside_the_attempt_propagates_once() -> None:
    recorder = Recorder(ZeroDivisionError("bug"))
    async with client(recorder, breaker=CircuitBreaker("billing")) as service:
        with pytest.raises(ZeroDivisionError, match="bug"):
            await service.get("/x")
    assert len(recorder.requests) == 1


async def test_retry_if_of_the_policy_narrows_the_http_rules() -> None:
    def not_maintenance(error: BaseException) -> bool:
        return not (isinstance(error, DomainError) and error.code == "maintenance")

    policy = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002, retry_if=not_maintenance)
    recorder = Recorder(problem(503, "maintenance"), problem(503, "busy"), httpx.Response(200))
    async with client(recorder, retry=policy) as service:
        with pytest.raises(TransientError, match="d") as raised:
            await service.get("/x")
        assert (raised.value.code, len(recorder.requests)) == ("maintenance", 1)
        assert (await service.get("/x")).status_code == 200
    assert len(recorder.requests) == 3


async def test_retry_on_of_the_policy_decides_whether_429_is_retried() -> None:
    recorder = Recorder(problem(429, "slow_down", headers={"retry-after": "0"}))
    policy = RetryPolicy(attempts=3, base_delay=0.001, retry_on=(TransientError,))
    async with client(recorder, retry=policy) as service:
        with pytest.raises(RateLimitedError, match="d"):
            await service.get("/x")
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    "policy",
    [
        RetryPolicy(base_delay=0.001, max_delay=2.0, deadline=100.0),  # wait > max_delay
        RetryPolicy(base_delay=0.001, max_delay=100.0, deadline=1.0),
    ],  # wait past the deadline
)
async def test_a_retry_after_too_long_gives_up_at_once(policy: RetryPolicy) -> None:
    recorder = Recorder(problem(503, "busy", headers={"retry-after": "5"}))
    async with client(recorder, retry=policy) as service:
        with pytest.raises(TransientError, match="d") as raised:
            await service.get("/x")
    assert len(recorder.requests) == 1
    assert "gave up after 1 attempts" in raised.value.__notes__[0]


async def test_retry_after_is_waited_for() -> None:
    recorder = Recorder(problem(503, "busy", headers={"retry-after": "1"}), httpx.Response(200))
    loop = asyncio.get_running_loop()
    started = loop.time()
    policy = RetryPolicy(base_delay=0.001, max_delay=2.0, deadline=5.0)
    async with client(recorder, retry=policy) as service:
        assert (await service.get("/x")).status_code == 200
    assert loop.time() - started >= 1.0


async def test_without_a_deadline_only_attempts_bound_the_call() -> None:
    recorder = Recorder(REFUSED, REFUSED, httpx.Response(200))
    policy = RetryPolicy(attempts=3, base_delay=0.001, deadline=None)
    async with client(recorder, retry=policy) as service:
        assert (await service.get("/x")).status_code == 200
    assert len(recorder.requests) == 3


async def test_deadline_cuts_the_attempt_in_flight_and_the_breaker_counts_it() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()  # until the deadline cancels it
        return httpx.Response(200)

    breaker = CircuitBreaker("billing", failure_threshold=1)
    async with ServiceHttpClient(
        "http://billing",
        transport=httpx.MockTransport(hang),
        retry=RetryPolicy(deadline=0.1),
        breaker=breaker,
    ) as service:
        with pytest.raises(TransientError, match="timed out") as raised:
            await service.get("/x")
    assert raised.value.code == "upstream_timeout"
    assert breaker.state is CircuitState.OPEN


def test_sync_twin_shares_the_breaker() -> None:
    breaker = CircuitBreaker("billing", failure_threshold=1)
    recorder = Recorder(problem(502, "bad_gateway"))
    with SyncServiceHttpClient(
        "http://billing",
        transport=httpx.MockTransport(recorder),
        retry=RetryPolicy(attempts=1),
        breaker=breaker,
    ) as service:
        with pytest.raises(TransientError, match="d"):
            service.get("/x")
        with pytest.raises(CircuitOpenError, match="not attempted"):
            service.get("/x")
    assert len(recorder.requests) == 1


def test_upstream_server_error_is_transient_and_answers_502() -> None:
    error = UpstreamServerError(upstream_status=507)
    assert isinstance(error, TransientError)
    assert (error.http_status_code, error.code, error.upstream_status) == (
        502,
        "upstream_error",
        507,
    )

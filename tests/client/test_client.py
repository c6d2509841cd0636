"""`ServiceHttpClient` against `httpx.MockTransport`: signing, propagation, errors, retries.

Retries and the circuit breaker are the real `mic.resilience` ones; these tests pin the
client's HTTP rules on top of them (what is safe to repeat, what counts as a failure).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mic import context as mic_context
from mic.auth import ServiceAuthSigner, ServiceAuthVerifier, ServiceKey
from mic.client import (
    ServiceHttpClient,
    SyncServiceHttpClient,
    UpstreamServerError,
    UpstreamServiceError,
    error_from_response,
)
from mic.model import (
    ConflictError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    TransientError,
    UnauthorizedError,
    ValidationFailedError,
)
from mic.resilience import RetryPolicy

KEY = ServiceKey.generate("k1", "HS256")
FAST = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002, deadline=5.0)

Handler = Callable[[httpx.Request], httpx.Response]


def problem(status: int, code: str, detail: str = "d", **extra: Any) -> httpx.Response:
    body = {
        "type": "about:blank",
        "title": "t",
        "status": status,
        "detail": detail,
        "code": code,
        "details": extra.pop("details", {}),
    }
    return httpx.Response(
        status,
        json=body,
        headers={"content-type": "application/problem+json", **extra.pop("headers", {})},
    )


class Recorder:
    """A MockTransport handler answering from a script, recording requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(handler: Handler, **options: Any) -> ServiceHttpClient:
    options.setdefault("retry", FAST)
    return ServiceHttpClient("http://billing", transport=httpx.MockTransport(handler), **options)


async def test_signs_for_the_audience_and_caches_the_token() -> None:
    recorder = Recorder(httpx.Response(200, json={}))
    signer = ServiceAuthSigner(issuer="orders", keys=KEY)
    verifier = ServiceAuthVerifier(audience="billing", issuers=["orders"], keys=KEY)
    async with client(recorder, signer=signer, audience="billing", scopes=["r"]) as service:
        await service.get("/a")
        await service.get("/b")
    tokens = [r.headers["authorization"].removeprefix("Bearer ") for r in recorder.requests]
    assert tokens[0] == tokens[1]
    verified = await verifier.verify(tokens[0])
    assert (verified.issuer, verified.scopes) == ("orders", frozenset({"r"}))


async def test_token_is_renewed_before_expiry() -> None:
    """A 0.02 s token is guaranteed no whole second of life: each call needs a new one."""
    recorder = Recorder(httpx.Response(200))
    signer = CountingSigner(issuer="orders", keys=KEY, lifetime=0.02)
    async with client(recorder, signer=signer, audience="billing") as service:
        await service.get("/a")
        await service.get("/b")
    first, second = (r.headers["authorization"] for r in recorder.requests)
    assert (2, True) == (signer.signatures, first != second)


async def test_propagates_correlation_id_and_traceparent() -> None:
    recorder = Recorder(httpx.Response(200))
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with client(recorder) as service:
        await service.get("/none")
        token_a = mic_context.correlation_id.set("req-1")
        token_b = mic_context.traceparent.set(parent)
        try:
            await service.get("/some")
            await service.get("/own", headers={"X-Request-ID": "mine"})
        finally:
            mic_context.correlation_id.reset(token_a)
            mic_context.traceparent.reset(token_b)
    none, some, own = recorder.requests
    assert "x-request-id" not in none.headers
    assert "traceparent" not in none.headers
    assert (some.headers["x-request-id"], some.headers["traceparent"]) == ("req-1", parent)
    assert own.headers["x-request-id"] == "mine"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, DomainError),
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ValidationFailedError),
        (429, RateLimitedError),
        (503, TransientError),
    ],
)
async def test_problems_map_back_to_the_same_error(status: int, kind: type[DomainError]) -> None:
    answer = problem(status, "item_gone", "Item 7 is gone", details={"id": 7})
    async with client(Recorder(answer), retry=RetryPolicy(attempts=1)) as service:
        with pytest.raises(kind, match="Item 7 is gone") as raised:
            await service.get("/items/7")
    assert type(raised.value) is kind
    assert (raised.value.code, raised.value.details) == ("item_gone", {"id": 7})


def test_retry_after_is_kept() -> None:
    error = error_from_response(problem(429, "slow_down", headers={"retry-after": "7"}))
    assert (error.retry_after, error.headers["Retry-After"]) == (7.0, "7")
    dated = error_from_response(
        problem(503, "later", headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    )
    assert dated.retry_after == 0.0
    odd = error_from_response(problem(503, "later", headers={"retry-after": "soon"}))
    assert odd.retry_after is None


@pytest.mark.parametrize(
    ("response", "kind", "code"),
    [
        (httpx.Response(500, text="boom"), UpstreamServerError, "upstream_error"),
        (problem(500, "internal_error"), UpstreamServerError, "internal_error"),
        (httpx.Response(501), UpstreamServerError, "upstream_error"),
        (httpx.Response(502, text="<html>"), TransientError, "upstream_unavailable"),
        (httpx.Response(504, json=[1]), TransientError, "upstream_unavailable"),
        (
            httpx.Response(410, content=b"{bad", headers={"content-type": "application/json"}),
            UpstreamServiceError,
            "upstream_error",
        ),
        (httpx.Response(404), NotFoundError, "not_found"),
    ],
)
def test_non_problem_and_unknown_answers(
    response: httpx.Response, kind: type[DomainError], code: str
) -> None:
    error = error_from_response(response)
    assert (type(error), error.code) == (kind, code)


def test_upstream_error_keeps_the_status() -> None:
    error = error_from_response(httpx.Response(418))
    assert isinstance(error, UpstreamServiceError)
    assert (error.upstream_status, error.http_status_code) == (418, 502)


async def test_idempotent_requests_retry_through_a_503_storm() -> None:
    recorder = Recorder(problem(503, "busy"), problem(503, "busy"), httpx.Response(200, json=1))
    async with client(recorder) as service:
        assert (await service.get("/x")).json() == 1
    assert len(recorder.requests) == 3


async def test_retries_run_out() -> None:
    recorder = Recorder(problem(503, "busy"))
    async with client(recorder) as service:
        with pytest.raises(TransientError, match="d"):
            await service.get("/x")
    assert len(recorder.requests) == 3


async def test_post_is_not_retried_without_an_idempotency_key() -> None:
    recorder = Recorder(problem(503, "busy"), httpx.Response(201))
    async with client(recorder) as service:
        with pytest.raises(TransientError, match="d"):
            await service.post("/x", json={"a": 1})
        assert len(recorder.requests) == 1
        response = await service.post("/x", json={"a": 1}, idempotency_key="k-1")
    assert response.status_code == 201
    assert recorder.requests[-1].headers["idempotency-key"] == "k-1"


async def test_connection_refused_is_retried_even_for_post() -> None:
    request = httpx.Request("POST", "http://billing/x")
    recorder = Recorder(httpx.ConnectError("refused", request=request), httpx.Response(201))
    async with client(recorder) as service:
        assert (await service.post("/x", content=b"raw")).status_code == 201
    assert recorder.requests[-1].content == b"raw"


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (httpx.ReadError("reset"), "upstream_unavailable"),
        (httpx.ReadTimeout("slow"), "upstream_timeout"),
    ],
)
async def test_reset_and_timeout_after_sending_post_are_not_retried(
    failure: Exception, code: str
) -> None:
    recorder = Recorder(failure, httpx.Response(201))
    async with client(recorder) as service:
        with pytest.raises(TransientError, match="POST /x") as raised:
            await service.post("/x")
    assert (raised.value.code, len(recorder.requests)) == (code, 1)


async def test_429_with_retry_after_beyond_the_deadline_is_not_waited_for() -> None:
    recorder = Recorder(problem(429, "slow_down", headers={"retry-after": "60"}))
    async with client(recorder, retry=RetryPolicy(deadline=1.0)) as service:
        with pytest.raises(RateLimitedError, match="d"):
            await service.get("/x")
    assert len(recorder.requests) == 1


async def test_429_then_success() -> None:
    recorder = Recorder(
        problem(429, "slow_down", headers={"retry-after": "0"}), httpx.Response(204)
    )
    async with client(recorder) as service:
        assert (await service.get("/x")).status_code == 204


async def test_4xx_is_not_retried() -> None:
    recorder = Recorder(problem(404, "nope"))
    async with client(recorder) as service:
        with pytest.raises(NotFoundError, match="d"):
            await service.get("/x")
    assert len(recorder.requests) == 1


async def test_total_deadline_bounds_a_hanging_server() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()  # until the deadline cancels it
        return httpx.Response(200)

    service = ServiceHttpClient(
        "http://billing", transport=httpx.MockTransport(hang), retry=RetryPolicy(deadline=0.2)
    )
    # The server never answers: the call still ends (a hang would trip pytest-timeout).
    with pytest.raises(TransientError, match="timed out") as raised:
        await service.get("/x")
    assert raised.value.code == "upstream_timeout"
    await service.aclose()


async def test_verbs_and_query() -> None:
    recorder = Recorder(httpx.Response(200))
    async with client(recorder, headers={"x-app": "orders"}) as service:
        await service.put("/a", params={"q": "1"})
        await service.patch("/a")
        await service.delete("/a")
    assert [r.method for r in recorder.requests] == ["PUT", "PATCH", "DELETE"]
    assert recorder.requests[0].url.params["q"] == "1"
    assert recorder.requests[0].headers["x-app"] == "orders"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"signer": ServiceAuthSigner(issuer="o", keys=KEY)}, "audience"),
        ({"timeout": 0}, "timeout must be > 0"),
    ],
)
def test_bad_configuration(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServiceHttpClient("http://billing", **options)
    with pytest.raises(ValueError, match=message):
        SyncServiceHttpClient("http://billing", **options)


# --- review hardening (issue 3) -------------------------------------------------------


class CountingSigner(ServiceAuthSigner):
    """A real signer that counts its signatures."""

    signatures = 0

    def sign(self, *args: Any, **kwargs: Any) -> str:
        self.signatures += 1
        return super().sign(*args, **kwargs)


async def test_concurrent_requests_share_one_signature() -> None:
    """No request is answered before all 50 were sent: they are all in flight together."""
    arrived = 0
    all_arrived = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        arrived += 1
        if arrived == 50:
            all_arrived.set()
        await all_arrived.wait()
        return httpx.Response(200)

    signer = CountingSigner(issuer="orders", keys=KEY)
    service = ServiceHttpClient(
        "http://billing", signer=signer, audience="billing", transport=httpx.MockTransport(slow)
    )
    async with service:
        await asyncio.gather(*(service.get(f"/{i}") for i in range(50)))
    assert signer.signatures == 1


async def test_token_whose_whole_second_may_be_spent_is_not_reused() -> None:
    """``iat`` is a whole second: a 1 s token signed at x.99 is gone 10 ms later."""
    recorder = Recorder(httpx.Response(200))
    signer = CountingSigner(issuer="orders", keys=KEY, lifetime=1, clock=lambda: 1_700_000_000.99)
    async with client(recorder, signer=signer, audience="billing") as service:
        await service.get("/a")
        await service.get("/b")
    assert signer.signatures == 2


async def test_token_is_reused_well_within_its_guaranteed_life() -> None:
    signer = CountingSigner(issuer="orders", keys=KEY, lifetime=300)
    async with client(Recorder(httpx.Response(200)), signer=signer, audience="billing") as service:
        for _ in range(5):
            await service.get("/a")
    assert signer.signatures == 1


def test_scopes_as_one_string_is_refused_at_construction() -> None:
    """``sorted("orders:read")`` would ask for the scopes "o", "r", "d"..."""
    signer = ServiceAuthSigner(issuer="orders", keys=KEY)
    with pytest.raises(TypeError, match="not one string"):
        ServiceHttpClient("http://billing", signer=signer, audience="billing", scopes="orders:read")
    with pytest.raises(ValueError, match="scope token"):
        ServiceHttpClient("http://billing", signer=signer, audience="billing", scopes=["a b"])


@pytest.mark.parametrize("key", ["", "   "])
async def test_empty_idempotency_key_is_refused_before_sending(key: str) -> None:
    """An empty key would make a POST look safe to repeat."""
    recorder = Recorder(httpx.Response(503))
    async with client(recorder) as service:
        with pytest.raises(ValueError, match="idempotency_key must not be empty"):
            await service.post("/pay", json={}, idempotency_key=key)
    assert recorder.requests == []


def test_sync_twin_has_every_verb() -> None:
    recorder = Recorder(httpx.Response(200))
    with SyncServiceHttpClient("http://billing", transport=httpx.MockTransport(recorder)) as sync:
        sync.put("/a")
        sync.patch("/a")
        sync.delete("/a")
    assert [r.method for r in recorder.requests] == ["PUT", "PATCH", "DELETE"]

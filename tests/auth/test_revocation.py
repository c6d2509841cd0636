"""`RevokeBlacklist` on memory and Redis, and `ServiceAuthVerifier` consulting it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from mic.auth import (
    InMemoryRevokeBlacklist,
    RedisRevokeBlacklist,
    RevokeBlacklist,
    ServiceAuth,
    ServiceAuthSigner,
    ServiceAuthVerifier,
    TokenRevokedError,
    VerifiedToken,
)
from mic.http import HttpRouterConfig, HttpRouteSpec
from mic.model import TransientError
from tests.auth.keys import key
from tests.support import make_client

NOW = 1_900_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def token(jti: str = "t1", subject: str = "orders", issued_at: float = NOW - 10) -> VerifiedToken:
    return VerifiedToken(
        subject=subject,
        issuer="orders",
        audience=("billing",),
        scopes=frozenset(),
        token_id=jti,
        issued_at=issued_at,
        expires_at=issued_at + 300,
        key_id="k",
        claims={},
    )


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def blacklist(request: pytest.FixtureRequest) -> AsyncIterator[tuple[RevokeBlacklist, Clock]]:
    """Each blacklist, on an injected clock (Redis keys under a unique prefix)."""
    clock = Clock()
    if request.param == "memory":
        yield InMemoryRevokeBlacklist(retention=3600, clock=clock), clock
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"mic:test:revoked:{uuid.uuid4().hex}:"
    try:
        yield RedisRevokeBlacklist(client, prefix=prefix, retention=3600, clock=clock), clock
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_revoke_by_token_id(blacklist: tuple[RevokeBlacklist, Clock]) -> None:
    store, _ = blacklist
    assert not await store.is_revoked(token())
    await store.revoke_token("t1", expires_at=NOW + 300)
    await store.revoke_token("gone", expires_at=NOW - 1)  # already expired: nothing to keep
    assert await store.is_revoked(token("t1"))
    assert not await store.is_revoked(token("t2"))
    assert not await store.is_revoked(token("gone"))


async def test_revoke_by_subject_before_an_instant(
    blacklist: tuple[RevokeBlacklist, Clock],
) -> None:
    store, _ = blacklist
    await store.revoke_subject("orders")  # now
    assert await store.is_revoked(token(issued_at=NOW - 1))
    assert not await store.is_revoked(token(issued_at=NOW + 1))  # issued after: fine
    assert not await store.is_revoked(token(subject="audit", issued_at=NOW - 1))
    await store.revoke_subject("orders", before=NOW - 100)  # earlier: never shortens
    assert await store.is_revoked(token(issued_at=NOW - 1))
    await store.revoke_subject("orders", before=NOW + 50)  # later: extends
    assert await store.is_revoked(token(issued_at=NOW + 1))


async def test_memory_entries_expire() -> None:
    clock = Clock()
    store = InMemoryRevokeBlacklist(retention=60, clock=clock)
    await store.revoke_token("t1", expires_at=NOW + 30)
    await store.revoke_subject("orders")
    clock.now += 61
    assert not await store.is_revoked(token("t1", issued_at=NOW - 10))
    for i in range(1100):  # crosses the pruning point
        await store.revoke_token(f"x{i}", expires_at=clock.now + 1)
    assert "t1" not in store._tokens
    assert "orders" not in store._subjects


async def test_redis_entries_carry_ttls(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    prefix = f"mic:test:revoked:{uuid.uuid4().hex}:"
    store = RedisRevokeBlacklist(client, prefix=prefix, retention=120, clock=Clock())
    try:
        await store.revoke_token("t1", expires_at=NOW + 30)
        await store.revoke_subject("orders")
        assert 0 < await client.pttl(f"{prefix}jti:t1") <= 30_000
        assert 110_000 < await client.pttl(f"{prefix}sub:orders") <= 120_000
    finally:
        await client.delete(f"{prefix}jti:t1", f"{prefix}sub:orders")
        await client.aclose()


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: InMemoryRevokeBlacklist(retention=0), ValueError, "retention"),
        (lambda: InMemoryRevokeBlacklist(retention=float("nan")), ValueError, "retention"),
        (lambda: RedisRevokeBlacklist(Redis(), prefix=""), ValueError, "prefix"),
    ],
)
def test_bad_arguments(make: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()  # type: ignore[operator]


async def test_empty_ids_are_refused() -> None:
    store = InMemoryRevokeBlacklist()
    with pytest.raises(ValueError, match="non-empty"):
        await store.revoke_token("", expires_at=NOW)
    with pytest.raises(ValueError, match="non-empty"):
        await store.revoke_subject("")


SIGNER = ServiceAuthSigner(issuer="orders", keys=key("EdDSA"))


class DownBlacklist(InMemoryRevokeBlacklist):
    async def is_revoked(self, token: VerifiedToken) -> bool:
        raise ConnectionError("redis down")


def verifier(revocations: RevokeBlacklist, failure: str = "closed") -> ServiceAuthVerifier:
    return ServiceAuthVerifier(
        audience="billing",
        issuers=["orders"],
        keys=key("EdDSA"),
        revocations=revocations,
        revocation_failure=failure,
    )  # type: ignore[arg-type]


async def test_verifier_refuses_revoked_tokens() -> None:
    revocations = InMemoryRevokeBlacklist()
    check = verifier(revocations)
    first = SIGNER.sign("billing")
    verified = await check.verify(first)
    await revocations.revoke_token(verified.token_id, expires_at=verified.expires_at)
    with pytest.raises(TokenRevokedError, match="revoked"):
        await check.verify(first)
    await check.verify(SIGNER.sign("billing"))  # another token of the same caller: fine
    await revocations.revoke_subject("orders", before=verified.issued_at + 1)
    with pytest.raises(TokenRevokedError, match="revoked"):
        await check.verify(SIGNER.sign("billing"))


async def test_verifier_fails_closed_or_open_when_the_store_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(TransientError, match="revocation cannot be checked"):
        await verifier(DownBlacklist()).verify(SIGNER.sign("billing"))
    verified = await verifier(DownBlacklist(), "open").verify(SIGNER.sign("billing"))
    assert "orders" == verified.subject
    assert any("fail open" in r.message for r in caplog.records)
    with pytest.raises(ValueError, match="revocation_failure"):
        verifier(InMemoryRevokeBlacklist(), "maybe")


async def me() -> dict[str, str]:
    return {"ok": "yes"}


@pytest.mark.parametrize(("store", "status"), [("revoked", 401), ("down", 503)])
async def test_http_answers(framework: str, store: str, status: int) -> None:
    revocations = DownBlacklist() if store == "down" else InMemoryRevokeBlacklist()
    config = HttpRouterConfig(services={ServiceAuthVerifier: verifier(revocations)})
    route = HttpRouteSpec(
        method="GET", path="/me", name="me", category="t", handler=me, auth=ServiceAuth()
    )
    await revocations.revoke_subject("orders", before=NOW * 2)
    async with make_client(framework, [route], config) as client:
        response = await client.get(
            "/me", headers={"authorization": f"Bearer {SIGNER.sign('billing')}"}
        )
    assert status == response.status_code
    if status == 401:
        assert "token_revoked" == response.json()["code"]
        assert (
            'error_description="The token has been revoked"' in response.headers["www-authenticate"]
        )
    else:
        assert "revocation_unavailable" == response.json()["code"]
        assert "redis" not in response.text

"""`RemoteJwks` through the verifier: fetch, cache, refresh on unknown kid, keep last good."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import pytest

from mic.auth import (
    RemoteJwks,
    ServiceAuthSigner,
    ServiceAuthVerifier,
    TokenExpiredError,
    TokenSignatureError,
)
from mic.model import TransientError
from tests.auth.keys import key


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class JwksServer:
    """Answers the JWKS URL from a mutable document, counting requests."""

    def __init__(self, document: Any) -> None:
        self.document = document
        self.status = 200
        self.fail = False
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        assert request.url == "https://orders.internal/.well-known/jwks.json"
        if self.fail:
            raise httpx.ConnectError("down", request=request)
        return httpx.Response(self.status, json=self.document)


def setup(document: Any) -> tuple[JwksServer, RemoteJwks, ServiceAuthVerifier, FakeClock]:
    server = JwksServer(document)
    clock = FakeClock()
    jwks = RemoteJwks(
        "https://orders.internal/.well-known/jwks.json",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
        max_age=300, cooldown=30, clock=clock,
    )  # fmt: skip
    verifier = ServiceAuthVerifier(audience="billing", issuers=["orders"], jwks=jwks)
    return server, jwks, verifier, clock


def sign(kid: str = "k1", algorithm: str = "EdDSA") -> str:
    return ServiceAuthSigner(issuer="orders", keys=key(algorithm, kid)).sign("billing")


def document(*kids: str, algorithm: str = "EdDSA") -> dict[str, Any]:
    return {"keys": [key(algorithm, kid).to_jwk() for kid in kids]}


async def test_fetches_once_and_caches() -> None:
    server, jwks, verifier, _ = setup(document("k1"))
    for _ in range(3):
        assert (await verifier.verify(sign())).key_id == "k1"
    assert server.requests == 1
    await jwks.aclose()


async def test_refetches_after_max_age() -> None:
    server, _, verifier, clock = setup(document("k1"))
    await verifier.verify(sign())
    clock.now += 301
    await verifier.verify(sign())
    assert server.requests == 2


async def test_unknown_kid_refreshes_with_a_cooldown() -> None:
    server, _, verifier, clock = setup(document("k1"))
    await verifier.verify(sign())
    server.document = document("k1", "k2")
    clock.now += 31
    assert (await verifier.verify(sign("k2"))).key_id == "k2"  # rotated in: refreshed
    assert server.requests == 2
    for _ in range(5):  # garbage kids within the cooldown: no request storm
        with pytest.raises(TokenSignatureError, match="No key with id 'k9'"):
            await verifier.verify(sign("k9"))
    assert server.requests == 2
    clock.now += 31
    with pytest.raises(TokenSignatureError, match="No key"):
        await verifier.verify(sign("k9"))
    assert server.requests == 3


async def test_failed_refresh_keeps_the_last_good_set(caplog: pytest.LogCaptureFixture) -> None:
    server, _, verifier, clock = setup(document("k1"))
    await verifier.verify(sign())
    server.fail = True
    clock.now += 301
    with caplog.at_level(logging.WARNING, logger="mic.auth"):
        assert (await verifier.verify(sign())).key_id == "k1"
    assert "keeping the last good set" in caplog.text
    server.fail, server.status = False, 500
    clock.now += 31
    assert (await verifier.verify(sign())).key_id == "k1"
    assert server.requests == 3


async def test_never_fetched_is_a_transient_error() -> None:
    server, _, verifier, _ = setup(document("k1"))
    server.fail = True
    with pytest.raises(TransientError, match="cannot be fetched") as raised:
        await verifier.verify(sign())
    assert raised.value.http_status_code == 503


@pytest.mark.parametrize(
    "bad",
    [
        [1, 2],
        {"no": "keys"},
        {"keys": []},
        {"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "kid": "h"}]},
        {"keys": [{**key("EdDSA").to_jwk(), "use": "enc"}]},
        {"keys": ["x", {"kty": "OKP", "crv": "Ed25519", "x": "!!", "kid": "k1"}]},
    ],
)
async def test_unusable_documents_are_failures(bad: Any) -> None:
    _, _, verifier, _ = setup(bad)
    with pytest.raises(TransientError, match="cannot be fetched"):
        await verifier.verify(sign())


async def test_static_keys_are_tried_before_the_jwks() -> None:
    server, jwks, _, _ = setup(document("k1"))
    verifier = ServiceAuthVerifier(audience="billing", issuers=["orders"],
                                   keys=key("HS256", "local"), jwks=jwks)  # fmt: skip
    assert (await verifier.verify(sign("local", "HS256"))).key_id == "local"
    assert server.requests == 0
    assert (await verifier.verify(sign("k1"))).key_id == "k1"


async def test_owns_its_client_when_none_is_given() -> None:
    jwks = RemoteJwks("http://127.0.0.1:9/jwks.json", timeout=0.5, cooldown=0)
    with pytest.raises(TransientError, match="cannot be fetched"):
        await jwks.keys()
    await jwks.aclose()
    await jwks.aclose()


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [("ftp://x", {}, "http"), ("https://x", {"max_age": 0}, "max_age"),
     ("https://x", {"cooldown": -1}, "cooldown")],
)  # fmt: skip
def test_bad_configuration(url: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RemoteJwks(url, **options)


async def test_keys_are_served_from_the_cache_while_fresh() -> None:
    server, jwks, _, _ = setup(document("k1"))
    assert list(await jwks.keys()) == ["k1"]
    assert list(await jwks.keys()) == ["k1"]
    assert server.requests == 1


# --- review hardening (issue 3) -------------------------------------------------------


class SlowJwksServer(JwksServer):
    """A JWKS server whose answers wait for `gate`, so requests pile up meanwhile."""

    def __init__(self, document: Any) -> None:
        super().__init__(document)
        self.gate = asyncio.Event()
        self.arrived = asyncio.Event()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.arrived.set()
        await self.gate.wait()
        return httpx.Response(200, json=self.document)


def slow_setup(document: Any) -> tuple[SlowJwksServer, RemoteJwks, ServiceAuthVerifier, FakeClock]:
    server = SlowJwksServer(document)
    clock = FakeClock()
    jwks = RemoteJwks(
        "https://orders.internal/.well-known/jwks.json",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(server.handle)),
        max_age=300, cooldown=30, clock=clock,
    )  # fmt: skip
    verifier = ServiceAuthVerifier(audience="billing", issuers=["orders"], jwks=jwks)
    return server, jwks, verifier, clock


async def _wait_for(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), 10)


async def test_concurrent_unknown_kid_storm_makes_one_fetch() -> None:
    """Fifty requests naming a new or bogus kid at once: one fetch, not fifty."""
    server, jwks, verifier, clock = slow_setup(document("k1"))
    server.gate.set()
    await verifier.verify(sign())
    server.gate.clear()
    server.arrived.clear()
    clock.now += 31  # past the cooldown of the first fetch
    server.document = document("k1", "k2")
    tokens = [sign("k2") if i % 2 else sign("k9") for i in range(50)]
    storm = [asyncio.create_task(verifier.verify(token)) for token in tokens]
    await _wait_for(server.arrived)
    server.gate.set()
    results = await asyncio.gather(*storm, return_exceptions=True)
    assert server.requests == 2
    assert sum(getattr(r, "key_id", None) == "k2" for r in results) == 25
    assert sum(isinstance(r, TokenSignatureError) for r in results) == 25
    await jwks.aclose()


async def test_a_cancelled_caller_does_not_cancel_the_shared_fetch() -> None:
    """A client that disconnects mid-fetch must not leave every other caller with a 503."""
    server, jwks, verifier, _ = slow_setup(document("k1"))
    first = asyncio.create_task(verifier.verify(sign()))
    await _wait_for(server.arrived)
    second = asyncio.create_task(verifier.verify(sign()))
    await asyncio.sleep(0)
    first.cancel()
    server.gate.set()
    assert (await second).key_id == "k1"
    assert (await verifier.verify(sign())).key_id == "k1"
    assert server.requests == 1
    with pytest.raises(asyncio.CancelledError, match=r"^$"):
        await first
    await jwks.aclose()


async def test_aclose_stops_a_fetch_in_flight() -> None:
    server, jwks, verifier, _ = slow_setup(document("k1"))
    waiting = asyncio.create_task(verifier.verify(sign()))
    await _wait_for(server.arrived)
    await jwks.aclose()
    with pytest.raises(TransientError, match="cannot be fetched"):
        await waiting


async def test_expired_token_with_an_unknown_kid_is_expired_without_a_fetch() -> None:
    """Rotation: a token of a key dropped since is reported expired, even if the JWKS is down."""
    server, jwks, verifier, _ = setup(document("k1"))
    server.fail = True
    old = ServiceAuthSigner(issuer="orders", keys=key("EdDSA", "gone"), lifetime=60,
                            clock=lambda: time.time() - 3600)  # fmt: skip
    with pytest.raises(TokenExpiredError, match="expired"):
        await verifier.verify(old.sign("billing"))
    assert server.requests == 0
    await jwks.aclose()


async def test_a_jwk_with_alg_none_is_skipped_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    """One unusable key (pyjwt raises NotImplementedError for it) must not poison the set."""
    poisoned = {"keys": [{**key("EdDSA", "bad").to_jwk(), "alg": "none"},
                         key("EdDSA", "k1").to_jwk()]}  # fmt: skip
    _, jwks, verifier, _ = setup(poisoned)
    with caplog.at_level(logging.WARNING, logger="mic.auth"):
        assert (await verifier.verify(sign())).key_id == "k1"
    assert "'bad' cannot be read" in caplog.text
    await jwks.aclose()


async def test_a_deeply_nested_document_is_a_failed_fetch() -> None:
    nested = b'{"keys": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    jwks = RemoteJwks(
        "https://orders.internal/.well-known/jwks.json",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(
            lambda request: httpx.Response(200, content=nested))),
    )  # fmt: skip
    with pytest.raises(TransientError, match="cannot be fetched"):
        await jwks.keys()
    await jwks.aclose()


async def test_a_crashing_fetch_is_logged_and_is_a_failed_fetch(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def crash(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("bug in a transport")

    jwks = RemoteJwks("https://orders.internal/.well-known/jwks.json",
                      http_client=httpx.AsyncClient(transport=httpx.MockTransport(crash)))  # fmt: skip
    with (
        caplog.at_level(logging.ERROR, logger="mic.auth"),
        pytest.raises(TransientError, match="cannot be fetched"),
    ):
        await jwks.keys()
    assert "crashed" in caplog.text
    await jwks.aclose()

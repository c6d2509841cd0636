"""Signer and verifier: claims, RFC 8725 checks, rotation, typed failures, interop."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwk as jose_jwk
from joserfc import jwt as jose_jwt

from mic.auth import (
    InvalidTokenError,
    MalformedTokenError,
    ServiceAuthSigner,
    ServiceAuthVerifier,
    ServiceKey,
    TokenAudienceError,
    TokenExpiredError,
    TokenIssuerError,
    TokenLifetimeError,
    TokenNotYetValidError,
    TokenSignatureError,
)
from mic.model import UnauthorizedError
from tests.auth.keys import key

NOW = 1_700_000_000.0


def clock() -> float:
    return NOW


def signer(signing: ServiceKey | list[ServiceKey], **options: Any) -> ServiceAuthSigner:
    return ServiceAuthSigner(issuer="orders", keys=signing, clock=clock, **options)


def verifier(keys: ServiceKey | list[ServiceKey], **options: Any) -> ServiceAuthVerifier:
    options.setdefault("issuers", ["orders"])
    return ServiceAuthVerifier(audience="billing", keys=keys, clock=clock, **options)


def forge(header: dict[str, Any], claims: dict[str, Any], signing: ServiceKey | None = None) -> str:
    """A token with exactly this header and these claims (signed with `signing`, if given)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    head, body = part(header), part(claims)
    signature = b"sig"
    if signing is not None:
        algorithm = jwt.algorithms.get_default_algorithms()[signing.algorithm]
        signature = algorithm.sign(f"{head}.{body}".encode(), signing.signing_key)
    return f"{head}.{body}." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "iss": "orders",
        "sub": "orders",
        "aud": "billing",
        "iat": int(NOW),
        "exp": int(NOW) + 300,
        "jti": "j1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA", "ES256", "RS256"])
async def test_round_trip(algorithm: str) -> None:
    token = signer(key(algorithm)).sign("billing", scopes=["read", "write"], subject="job-7")
    verified = await verifier(key(algorithm)).verify(token)
    assert (verified.subject, verified.issuer, verified.audience) == (
        "job-7",
        "orders",
        ("billing",),
    )
    assert verified.scopes == frozenset({"read", "write"})
    assert (verified.issued_at, verified.expires_at, verified.key_id) == (NOW, NOW + 300, "k1")
    assert verified.token_id
    assert verified.claims["scope"] == "read write"


async def test_signed_claims_and_header() -> None:
    token = signer(key("EdDSA"), lifetime=60).sign(["billing", "audit"], claims={"tenant": "t1"})
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert (header["kid"], header["alg"]) == ("k1", "EdDSA")
    assert payload["aud"] == ["billing", "audit"]
    assert (payload["iat"], payload["nbf"], payload["exp"]) == (NOW, NOW, NOW + 60)
    assert (payload["sub"], payload["tenant"]) == ("orders", "t1")
    assert "scope" not in payload


def test_signer_bad_arguments() -> None:
    with pytest.raises(ValueError, match="needs an issuer"):
        ServiceAuthSigner(issuer="", keys=key("HS256"))
    with pytest.raises(ValueError, match="lifetime must be > 0"):
        ServiceAuthSigner(issuer="a", keys=key("HS256"), lifetime=0)
    with pytest.raises(ValueError, match="must be unique"):
        ServiceAuthSigner(issuer="a", keys=[key("HS256"), key("EdDSA")])
    with pytest.raises(ValueError, match="needs a key with signing"):
        ServiceAuthSigner(issuer="a", keys=key("EdDSA").public())
    with pytest.raises(ValueError, match="needs key 'k9'"):
        ServiceAuthSigner(issuer="a", keys=key("EdDSA"), signing_kid="k9")


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"audience": ""}, ValueError, "non-empty audience"),
        ({"audience": "b", "lifetime": -1}, ValueError, "lifetime must be > 0"),
        ({"audience": "b", "claims": {"exp": 1}}, ValueError, "registered claims"),
        ({"audience": "b", "scopes": ["has space"]}, ValueError, "scope token"),
        ({"audience": "b", "scopes": ['quo"te']}, ValueError, "scope token"),
        ({"audience": "b", "scopes": "read"}, TypeError, "not one string"),
    ],
)
def test_sign_bad_arguments(
    arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        signer(key("HS256")).sign(**arguments)


def test_jwks_publishes_public_keys_only() -> None:
    document = signer([key("EdDSA"), key("HS256", "h1"), key("ES256", "k2").public()]).jwks()
    assert [k["kid"] for k in document["keys"]] == ["k1", "k2"]
    assert all("d" not in k for k in document["keys"])


def test_verifier_bad_arguments() -> None:
    with pytest.raises(ValueError, match="own audience"):
        ServiceAuthVerifier(audience="", issuers=["a"], keys=key("HS256"))
    with pytest.raises(ValueError, match="at least one non-empty issuer"):
        ServiceAuthVerifier(audience="b", issuers=[], keys=key("HS256"))
    with pytest.raises(ValueError, match="keys or a JWKS"):
        ServiceAuthVerifier(audience="b", issuers=["a"])
    with pytest.raises(ValueError, match="leeway"):
        ServiceAuthVerifier(audience="b", issuers=["a"], keys=key("HS256"), leeway=-1)
    with pytest.raises(ValueError, match="must be unique"):
        ServiceAuthVerifier(audience="b", issuers=["a"], keys=[key("HS256"), key("EdDSA")])


def test_verifier_never_holds_a_private_key() -> None:
    held = verifier(key("EdDSA")).keys["k1"]
    assert not held.can_sign


async def test_rotation_old_and_new_keys_verify() -> None:
    old, new = key("HS256", "2024"), key("HS256", "2025")
    both = verifier([old, new])
    assert (await both.verify(signer([old]).sign("billing"))).key_id == "2024"
    assert (await both.verify(signer([new, old]).sign("billing"))).key_id == "2025"


async def test_expired_token_is_reported_expired_during_rotation() -> None:
    old, new = key("HS256", "2024"), key("HS256", "2025")
    token = forge({"alg": "HS256", "kid": "2024"}, claims(exp=int(NOW) - 60), old)
    with pytest.raises(TokenExpiredError, match="expired"):
        await verifier([new]).verify(token)  # the old key is gone since
    with pytest.raises(TokenExpiredError, match="expired"):
        await verifier([old, new]).verify(token)


async def test_several_keys_require_kid() -> None:
    token = forge({"alg": "HS256"}, claims(), key("HS256", "a"))
    with pytest.raises(MalformedTokenError, match="no 'kid'"):
        await verifier([key("HS256", "a"), key("HS256", "b")]).verify(token)
    # With one key, a token without kid is accepted (the key is certain).
    assert (await verifier(key("HS256", "a")).verify(token)).key_id == "a"


@pytest.mark.parametrize(
    ("header", "error", "message"),
    [
        ({"alg": "none", "kid": "k1"}, TokenSignatureError, "'none' is not allowed"),
        ({"alg": "HS256", "kid": "k1"}, TokenSignatureError, "'HS256' is not allowed"),
        ({"alg": "EdDSA", "kid": "zz"}, TokenSignatureError, "No key with id 'zz'"),
        ({"alg": "EdDSA", "kid": 7}, MalformedTokenError, "'kid' is not a string"),
        ({"alg": "EdDSA", "kid": "k1"}, TokenSignatureError, "does not verify"),
        ({"alg": "EdDSA", "kid": "k1", "crit": ["b64"]}, MalformedTokenError, "critical"),
    ],
)
async def test_rfc8725_header_checks(
    header: dict[str, Any], error: type[InvalidTokenError], message: str
) -> None:
    with pytest.raises(error, match=message):
        await verifier(key("EdDSA")).verify(forge(header, claims()))


async def test_algorithm_confusion_with_public_key_as_hmac_secret() -> None:
    """An attacker signs HS256 with the RSA public key's PEM: refused, the key is RS256."""
    from cryptography.hazmat.primitives import serialization

    pem = key("RS256").verifying_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = forge({"alg": "HS256", "kid": "k1"}, claims(), ServiceKey("x", "HS256", pem, pem))
    with pytest.raises(TokenSignatureError, match="'HS256' is not allowed"):
        await verifier(key("RS256")).verify(token)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c.d", "a b.c.d", "é.a.b", "eyJhbGciOiJIUzI1NiJ9.e30.%%%"],
)
async def test_malformed_structure(token: str) -> None:
    with pytest.raises(MalformedTokenError, match="not a compact JWS"):
        await verifier(key("HS256")).verify(token)


async def test_non_string_token() -> None:
    with pytest.raises(MalformedTokenError, match="not a compact JWS"):
        await verifier(key("HS256")).verify(b"a.b.c")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("e30x.e30.c2ln", "header is not base64url JSON"),
        ("WzFd.e30.c2ln", "header is not a JSON object"),
    ],
)
async def test_malformed_segments(token: str, message: str) -> None:
    with pytest.raises(MalformedTokenError, match=message):
        await verifier(key("HS256")).verify(token)


async def test_malformed_signature_segment() -> None:
    good = signer(key("HS256")).sign("billing")
    head, body, _ = good.split(".")
    with pytest.raises(MalformedTokenError, match="signature is not base64url"):
        await verifier(key("HS256")).verify(f"{head}.{body}.a")


async def test_malformed_payload_with_good_signature() -> None:
    hs = key("HS256")
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"k1"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(b"[1]").rstrip(b"=").decode()
    algorithm = jwt.algorithms.get_default_algorithms()["HS256"]
    signature = algorithm.sign(f"{head}.{body}".encode(), hs.signing_key)
    token = f"{head}.{body}." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    with pytest.raises(MalformedTokenError, match="payload is not a JSON object"):
        await verifier(hs).verify(token)


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"exp": int(NOW) - 31}, TokenExpiredError, "expired"),
        ({"exp": int(NOW) - 30}, TokenExpiredError, "expired"),
        ({"nbf": int(NOW) + 31}, TokenNotYetValidError, "nbf"),
        ({"iat": int(NOW) + 31, "exp": int(NOW) + 60}, TokenNotYetValidError, "iat"),
        ({"exp": int(NOW) + 3601}, TokenLifetimeError, "longer than 3600"),
        ({"iss": "mallory"}, TokenIssuerError, "'mallory' is not trusted"),
        ({"aud": "shipping"}, TokenAudienceError, "not meant for 'billing'"),
        ({"aud": ["shipping", "audit"]}, TokenAudienceError, "not meant for"),
        ({"aud": 5}, MalformedTokenError, "'aud'"),
        ({"aud": ["billing", 5]}, MalformedTokenError, "'aud'"),
        ({"aud": None}, MalformedTokenError, "'aud'"),
        ({"exp": None}, MalformedTokenError, "'exp'"),
        ({"exp": True}, MalformedTokenError, "'exp'"),
        ({"exp": "1700000300"}, MalformedTokenError, "'exp'"),
        ({"iat": None}, MalformedTokenError, "'iat'"),
        ({"nbf": "soon"}, MalformedTokenError, "'nbf'"),
        ({"iss": None}, MalformedTokenError, "'iss'"),
        ({"sub": None}, MalformedTokenError, "'sub'"),
        ({"sub": ""}, MalformedTokenError, "'sub'"),
        ({"jti": None}, MalformedTokenError, "'jti'"),
        ({"scope": ["a"]}, MalformedTokenError, "'scope'"),
    ],
)
async def test_claim_checks(
    overrides: dict[str, Any], error: type[InvalidTokenError], message: str
) -> None:
    hs = key("HS256")
    with pytest.raises(error, match=message) as raised:
        await verifier(hs).verify(forge({"alg": "HS256", "kid": "k1"}, claims(**overrides), hs))
    assert isinstance(raised.value, UnauthorizedError)
    assert raised.value.http_status_code == 401


async def test_leeway_accepts_small_skew() -> None:
    hs = key("HS256")
    token = forge({"alg": "HS256", "kid": "k1"}, claims(exp=int(NOW) - 29, nbf=int(NOW) + 29), hs)
    assert (await verifier(hs).verify(token)).expires_at == NOW - 29
    with pytest.raises(TokenExpiredError, match="expired"):
        await verifier(hs, leeway=0).verify(token)


async def test_audience_list_containing_us() -> None:
    hs = key("HS256")
    token = forge({"alg": "HS256", "kid": "k1"}, claims(aud=["audit", "billing"]), hs)
    assert (await verifier(hs).verify(token)).audience == ("audit", "billing")


async def test_tampered_payload_is_a_bad_signature() -> None:
    token = signer(key("EdDSA")).sign("billing")
    head, _, signature = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(claims(sub="admin")).encode()).rstrip(b"=")
    with pytest.raises(TokenSignatureError, match="does not verify"):
        await verifier(key("EdDSA")).verify(f"{head}.{body.decode()}.{signature}")


async def test_expired_and_bad_signature_reports_expired() -> None:
    token = forge({"alg": "EdDSA", "kid": "k1"}, claims(exp=int(NOW) - 100))
    with pytest.raises(TokenExpiredError, match="expired"):
        await verifier(key("EdDSA")).verify(token)
    bad_payload = forge({"alg": "EdDSA", "kid": "nope"}, {"exp": "x"})
    with pytest.raises(TokenSignatureError, match="No key"):
        await verifier(key("EdDSA")).verify(bad_payload)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
async def test_arbitrary_text_is_refused_with_a_typed_error(text: str) -> None:
    """No input makes the verifier fail with anything but an `InvalidTokenError`."""
    with pytest.raises(InvalidTokenError, match=r"."):
        await verifier(key("HS256")).verify(text)


# --- interoperability: pyjwt and joserfc -----------------------------------------------


@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA", "ES256", "RS256"])
def test_our_tokens_verify_with_plain_pyjwt(algorithm: str) -> None:
    token = ServiceAuthSigner(issuer="orders", keys=key(algorithm)).sign("billing", scopes=["r"])
    decoded = jwt.decode(
        token,
        key(algorithm).verifying_key,
        algorithms=[algorithm],
        audience="billing",
        issuer="orders",
    )
    assert (decoded["sub"], decoded["scope"]) == ("orders", "r")


@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA", "ES256", "RS256"])
async def test_pyjwt_tokens_verify_with_ours(algorithm: str) -> None:
    token = jwt.encode(
        claims(scope="r w"), key(algorithm).signing_key, algorithm=algorithm, headers={"kid": "k1"}
    )
    assert (await verifier(key(algorithm)).verify(token)).scopes == {"r", "w"}


def _jose_key(algorithm: str, *, private: bool) -> Any:
    service_key = key(algorithm)
    if algorithm == "HS256":
        return jose_jwk.OctKey.import_key(service_key.verifying_key)
    material = service_key.signing_key if private else service_key.verifying_key
    jwk_dict = jwt.algorithms.get_default_algorithms()[algorithm].to_jwk(material, as_dict=True)
    return jose_jwk.import_key(jwk_dict)


# RFC 9864 deprecates "EdDSA" for the fully-specified "Ed25519"; pyjwt has no "Ed25519" yet.
JOSERFC_EDDSA = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


@JOSERFC_EDDSA
@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA", "ES256", "RS256"])
def test_our_tokens_verify_with_joserfc(algorithm: str) -> None:
    token = ServiceAuthSigner(issuer="orders", keys=key(algorithm)).sign("billing")
    decoded = jose_jwt.decode(token, _jose_key(algorithm, private=False), algorithms=[algorithm])
    assert (decoded.claims["aud"], decoded.header["kid"]) == ("billing", "k1")


@JOSERFC_EDDSA
@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA", "ES256", "RS256"])
async def test_joserfc_tokens_verify_with_ours(algorithm: str) -> None:
    header = {"alg": algorithm, "kid": "k1"}
    token = jose_jwt.encode(
        header, claims(), _jose_key(algorithm, private=True), algorithms=[algorithm]
    )
    assert (await verifier(key(algorithm)).verify(token)).issuer == "orders"


async def test_unknown_key_with_garbage_payload_is_a_signature_error() -> None:
    head = base64.urlsafe_b64encode(b'{"alg":"EdDSA","kid":"zz"}').rstrip(b"=").decode()
    with pytest.raises(TokenSignatureError, match="No key with id 'zz'"):
        await verifier(key("EdDSA")).verify(f"{head}.bm90LWpzb24.c2ln")


# --- review hardening (issue 3) -------------------------------------------------------


def _raw(segment: bytes) -> str:
    return base64.urlsafe_b64encode(segment).rstrip(b"=").decode()


def _signed_raw(payload: bytes, signing: ServiceKey) -> str:
    """An HS256 token over exactly these payload bytes (not produced by `json.dumps`)."""
    head = _raw(b'{"alg":"HS256","kid":"k1"}')
    body = _raw(payload)
    algorithm = jwt.algorithms.get_default_algorithms()["HS256"]
    signature = algorithm.sign(f"{head}.{body}".encode(), signing.signing_key)
    return f"{head}.{body}.{_raw(signature)}"


async def test_deeply_nested_header_is_malformed_not_a_crash() -> None:
    """A header nested past the parser's recursion limit is the sender's fault (401)."""
    nested = b'{"alg":"HS256","kid":"k1","x":' + b"[" * 5000 + b"]" * 5000 + b"}"
    with pytest.raises(MalformedTokenError, match="header is not base64url JSON"):
        await verifier(key("HS256")).verify(f"{_raw(nested)}.e30.c2ln")


@pytest.mark.parametrize(
    "dates",
    [
        b'"exp": NaN, "iat": 1700000000',
        b'"exp": 1700000300, "iat": NaN',
        b'"exp": Infinity, "iat": -Infinity',
        b'"exp": 1e999, "iat": 1700000000',
    ],
)
async def test_non_finite_dates_are_malformed(dates: bytes) -> None:
    """``exp: NaN`` compares false with every clock: it must not make a token immortal."""
    payload = b'{"iss": "orders", "sub": "orders", "aud": "billing", "jti": "j", ' + dates + b"}"
    with pytest.raises(MalformedTokenError, match=r"not base64url JSON|no valid"):
        await verifier(key("HS256")).verify(_signed_raw(payload, key("HS256")))


async def test_integer_dates_past_the_float_range_are_malformed() -> None:
    payload = json.dumps(claims(exp=10**400)).encode()
    with pytest.raises(MalformedTokenError, match="no valid 'exp'"):
        await verifier(key("HS256")).verify(_signed_raw(payload, key("HS256")))


@pytest.mark.parametrize(
    "options",
    [
        {"leeway": float("nan")},
        {"leeway": float("inf")},
        {"max_lifetime": float("nan")},
        {"max_lifetime": float("inf")},
    ],
)
def test_verifier_refuses_non_finite_durations(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="finite"):
        ServiceAuthVerifier(audience="b", issuers=["a"], keys=key("HS256"), **options)


@pytest.mark.parametrize("lifetime", [float("nan"), float("inf")])
def test_signer_refuses_non_finite_lifetimes(lifetime: float) -> None:
    with pytest.raises(ValueError, match="lifetime must be > 0 seconds, and finite"):
        ServiceAuthSigner(issuer="a", keys=key("HS256"), lifetime=lifetime)
    with pytest.raises(ValueError, match="lifetime must be > 0 seconds, and finite"):
        signer(key("HS256")).sign("billing", lifetime=lifetime)


def test_issuers_as_one_string_is_a_type_error() -> None:
    """``frozenset("orders")`` would trust the issuers "o", "r", "d", "e", "s"."""
    with pytest.raises(TypeError, match="not one string"):
        ServiceAuthVerifier(audience="b", issuers="orders", keys=key("HS256"))


async def test_huge_kid_and_alg_are_cut_in_the_message() -> None:
    token = forge({"alg": "EdDSA", "kid": "k" * 5000}, claims())
    with pytest.raises(TokenSignatureError, match="No key") as unknown:
        await verifier(key("EdDSA")).verify(token)
    assert len(unknown.value.message) < 200
    token = forge({"alg": "x" * 5000, "kid": "k1"}, claims())
    with pytest.raises(TokenSignatureError, match="is not allowed") as algorithm:
        await verifier(key("EdDSA")).verify(token)
    assert len(algorithm.value.message) < 200


@pytest.mark.parametrize(
    "header",
    [
        {"jku": "https://evil.example/jwks.json"},
        {"x5u": "https://evil.example/cert.pem"},
        {"jwk": {"kty": "oct", "k": "c2VjcmV0"}},
    ],
)
async def test_key_location_headers_are_never_followed(header: dict[str, Any]) -> None:
    """RFC 8725 section 3.10: ``jku``/``x5u``/``jwk`` never pick the key; ``kid`` does."""
    hs = key("HS256")
    genuine = forge({"alg": "HS256", "kid": "k1", **header}, claims(), hs)
    assert (await verifier(hs).verify(genuine)).key_id == "k1"  # no fetch, no other key
    attacker = ServiceKey.hmac("k1", b"s" * 32)
    with pytest.raises(TokenSignatureError, match="does not verify"):
        await verifier(hs).verify(
            forge({"alg": "HS256", "kid": "k1", **header}, claims(), attacker)
        )

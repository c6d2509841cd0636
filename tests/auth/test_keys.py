"""`ServiceKey`: one algorithm per key, safe constructors, public halves and JWKs."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from mic.auth import SUPPORTED_ALGORITHMS, ServiceKey
from tests.auth.keys import key


def test_hmac_secret_shorter_than_32_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        ServiceKey.hmac("k", b"x" * 31)


def test_hmac_secret_from_text() -> None:
    assert ServiceKey.hmac("k", "s" * 32).verifying_key == b"s" * 32


def test_hmac_signing_and_verifying_material_must_match() -> None:
    with pytest.raises(ValueError, match="same secret"):
        ServiceKey("k", "HS256", b"a" * 32, b"b" * 32)


def test_repr_hides_key_material() -> None:
    assert "x" * 32 not in repr(ServiceKey.hmac("k", b"x" * 32))


@pytest.mark.parametrize("algorithm", SUPPORTED_ALGORITHMS)
def test_generate_gives_a_signing_key(algorithm: str) -> None:
    generated = key(algorithm)
    assert (generated.algorithm, generated.can_sign) == (algorithm, True)


def test_generate_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="not supported"):
        ServiceKey.generate("k", "PS256")


@pytest.mark.parametrize(
    ("kid", "algorithm", "message"),
    [
        ("", "EdDSA", "non-empty string kid"),
        ("k", "none", "not supported"),
        ("k", "HS512", "not supported"),
    ],
)
def test_bad_kid_or_algorithm(kid: str, algorithm: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServiceKey(kid, algorithm, key("EdDSA").verifying_key)


def test_key_type_must_fit_the_algorithm() -> None:
    with pytest.raises(TypeError, match="EdDSA needs a Ed25519PublicKey"):
        ServiceKey("k", "EdDSA", key("ES256").verifying_key)
    with pytest.raises(TypeError, match="private key"):
        ServiceKey("k", "EdDSA", key("EdDSA").verifying_key, key("ES256").signing_key)


def test_es256_needs_p256() -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(ValueError, match="P-256"):
        ServiceKey("k", "ES256", other.public_key(), other)


def test_rs256_needs_2048_bits() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    with pytest.raises(ValueError, match="at least 2048 bits"):
        ServiceKey("k", "RS256", small.public_key())


def test_public_half_cannot_sign() -> None:
    public = key("EdDSA").public()
    assert (public.can_sign, public.kid) == (False, "k1")


def test_hmac_has_no_public_half_and_is_never_published() -> None:
    secret = key("HS256")
    with pytest.raises(ValueError, match="no public half"):
        secret.public()
    with pytest.raises(ValueError, match="must not be published"):
        secret.to_jwk()


def test_from_pem_private_and_public() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert ServiceKey.from_pem("a", private_pem, "EdDSA").can_sign
    assert not ServiceKey.from_pem("b", public_pem.decode(), "EdDSA").can_sign
    with pytest.raises(TypeError, match="ES256 needs"):
        ServiceKey.from_pem("c", public_pem, "ES256")


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_jwk_round_trip(algorithm: str) -> None:
    jwk = key(algorithm).to_jwk()
    assert (jwk["kid"], jwk["alg"], jwk["use"]) == ("k1", algorithm, "sig")
    assert "d" not in jwk  # never the private part
    parsed = ServiceKey.from_jwk(jwk)
    assert (parsed.algorithm, parsed.can_sign) == (algorithm, False)


def test_from_private_jwk_can_sign() -> None:
    import jwt

    private_jwk = jwt.algorithms.OKPAlgorithm.to_jwk(key("EdDSA").signing_key, as_dict=True)
    assert ServiceKey.from_jwk({**private_jwk, "kid": "p"}).can_sign


def test_from_oct_jwk_is_an_hmac_key() -> None:
    import base64

    secret = base64.urlsafe_b64encode(b"s" * 32).rstrip(b"=").decode()
    parsed = ServiceKey.from_jwk({"kty": "oct", "k": secret, "kid": "h", "alg": "HS256"})
    assert (parsed.algorithm, parsed.verifying_key) == ("HS256", b"s" * 32)


@pytest.mark.parametrize(
    ("jwk", "message"),
    [
        ({"kty": "OKP", "crv": "Ed25519", "x": "AA"}, "needs a 'kid'"),
        ({"kty": "nope", "kid": "x"}, "cannot be read"),
        ({"kty": "oct", "k": "c2VjcmV0", "kid": "x", "alg": "HS512"}, "not supported"),
    ],
)
def test_bad_jwks_are_refused(jwk: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServiceKey.from_jwk(jwk)


@pytest.mark.parametrize("secret", [64, None, 3.5])
def test_hmac_secret_must_be_bytes_or_text(secret: Any) -> None:
    """``bytes(64)`` is 64 zero bytes: a number must never become a secret."""
    with pytest.raises(TypeError, match="must be bytes or str"):
        ServiceKey.hmac("k", secret)


def test_jwk_with_alg_none_is_refused_with_a_value_error() -> None:
    """pyjwt raises NotImplementedError for ``alg: none``; callers expect ValueError."""
    jwk = {**key("EdDSA").to_jwk(), "alg": "none"}
    with pytest.raises(ValueError, match="cannot be read: NotImplementedError"):
        ServiceKey.from_jwk(jwk)

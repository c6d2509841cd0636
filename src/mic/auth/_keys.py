"""`ServiceKey`: one signing or verification key, bound to one algorithm and one ``kid``.

Binding the algorithm to the key (not reading it from the token) is what RFC 8725 section
3.1 asks for: a token cannot talk a verifier into using an RSA public key as an HMAC secret,
or into ``alg: none``. Keys are parsed once, here, never per token.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mic._deps import require

SUPPORTED_ALGORITHMS = ("HS256", "EdDSA", "ES256", "RS256")
MIN_HMAC_SECRET_BYTES = 32
MIN_RSA_BITS = 2048


def _check_asymmetric(algorithm: str, key: Any, *, private: bool) -> None:
    require("jwt", "auth")
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    expected: dict[str, tuple[type[Any], type[Any]]] = {
        "EdDSA": (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey),
        "ES256": (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey),
        "RS256": (rsa.RSAPrivateKey, rsa.RSAPublicKey),
    }
    kind = expected[algorithm][0 if private else 1]
    if not isinstance(key, kind):
        role = "private" if private else "public"
        raise TypeError(f"{algorithm} needs a {kind.__name__} as its {role} key, not {key!r}")
    if algorithm == "ES256" and not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"ES256 needs a P-256 key, not {key.curve.name}")
    if algorithm == "RS256" and key.key_size < MIN_RSA_BITS:
        raise ValueError(f"RS256 needs an RSA key of at least {MIN_RSA_BITS} bits")


@dataclass(frozen=True, slots=True)
class ServiceKey:
    """A key for service tokens: its id, its one algorithm, and the key material.

    Build one with `hmac`, `generate`, `from_pem` or `from_jwk` rather than directly.

    Attributes:
        kid: Key id, sent in the token header so verifiers pick the key without guessing.
        algorithm: ``HS256``, ``EdDSA``, ``ES256`` or ``RS256``; the only one this key accepts.
        verifying_key: The HMAC secret (bytes) or the public key object.
        signing_key: The HMAC secret or the private key object; ``None`` for a verify-only key.
    """

    kid: str
    algorithm: str
    verifying_key: Any = field(repr=False)
    signing_key: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.kid or not isinstance(self.kid, str):
            raise ValueError("a service key needs a non-empty string kid")
        if self.algorithm not in SUPPORTED_ALGORITHMS:
            raise ValueError(
                f"algorithm {self.algorithm!r} is not supported; use one of {SUPPORTED_ALGORITHMS}"
            )
        if self.algorithm == "HS256":
            secret = self.verifying_key
            if not isinstance(secret, bytes) or len(secret) < MIN_HMAC_SECRET_BYTES:
                # RFC 7518 section 3.2: the HS256 key must be at least as long as the hash.
                raise ValueError(
                    f"an HS256 secret must be at least {MIN_HMAC_SECRET_BYTES} bytes long"
                )
            if self.signing_key is not None and self.signing_key != secret:
                raise ValueError("an HS256 key signs and verifies with the same secret")
            return
        _check_asymmetric(self.algorithm, self.verifying_key, private=False)
        if self.signing_key is not None:
            _check_asymmetric(self.algorithm, self.signing_key, private=True)

    @classmethod
    def hmac(cls, kid: str, secret: bytes | str) -> ServiceKey:
        """An HS256 key from a shared secret of at least 32 bytes.

        Raises:
            ValueError: The secret is too short.
            TypeError: The secret is neither bytes nor str.
        """
        if isinstance(secret, str):
            raw = secret.encode("utf-8")
        elif isinstance(secret, bytes | bytearray | memoryview):
            raw = bytes(secret)
        else:
            # bytes(64) is 64 zero bytes: an int must never become a "secret".
            raise TypeError(f"an HS256 secret must be bytes or str, not {type(secret).__name__}")
        return cls(kid, "HS256", raw, raw)

    @classmethod
    def generate(cls, kid: str, algorithm: str = "EdDSA") -> ServiceKey:
        """A fresh random key (a 32-byte secret or a new key pair), for tests and dev setups."""
        if algorithm == "HS256":
            return cls.hmac(kid, secrets.token_bytes(MIN_HMAC_SECRET_BYTES))
        require("jwt", "auth")
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        private: Any
        if algorithm == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
        elif algorithm == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        elif algorithm == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
        else:
            raise ValueError(f"algorithm {algorithm!r} is not supported")
        return cls(kid, algorithm, private.public_key(), private)

    @classmethod
    def from_pem(cls, kid: str, pem: bytes | str, algorithm: str) -> ServiceKey:
        """A key from a PEM private key (can sign) or public key (verify only).

        Raises:
            ValueError: The PEM cannot be read, or does not fit `algorithm`.
            TypeError: The key type does not fit `algorithm`.
        """
        require("jwt", "auth")
        from cryptography.hazmat.primitives import serialization

        data = pem.encode("ascii") if isinstance(pem, str) else pem
        if b"PRIVATE KEY" in data:
            private: Any = serialization.load_pem_private_key(data, password=None)
            return cls(kid, algorithm, private.public_key(), private)
        return cls(kid, algorithm, serialization.load_pem_public_key(data))

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> ServiceKey:
        """A key from a JWK (RFC 7517) that has a ``kid``; a private JWK can sign.

        The algorithm is the JWK's ``alg``, or inferred from its key type and curve.

        Raises:
            ValueError: The JWK has no ``kid``, cannot be read, or its algorithm is unsupported.
        """
        jwt = require("jwt", "auth")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ValueError("a JWK for a service key needs a 'kid'")
        try:
            parsed = jwt.PyJWK(dict(jwk))
        except (jwt.PyJWTError, ValueError, TypeError, NotImplementedError) as exc:
            # pyjwt answers ``"alg": "none"`` with NotImplementedError: refused like the rest.
            raise ValueError(
                f"JWK {kid!r} cannot be read: {str(exc) or type(exc).__name__}"
            ) from exc
        algorithm = parsed.algorithm_name
        if algorithm == "HS256":
            return cls.hmac(kid, parsed.key)
        if algorithm not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"JWK {kid!r}: algorithm {algorithm!r} is not supported")
        key = parsed.key
        if hasattr(key, "private_bytes"):
            return cls(kid, algorithm, key.public_key(), key)
        return cls(kid, algorithm, key)

    @property
    def can_sign(self) -> bool:
        """Whether this key holds the material to mint tokens."""
        return self.signing_key is not None

    @property
    def is_symmetric(self) -> bool:
        """Whether this is a shared HMAC secret (which verifiers could also sign with)."""
        return self.algorithm == "HS256"

    def public(self) -> ServiceKey:
        """This key without its private half, for verifiers.

        Raises:
            ValueError: The key is an HMAC secret, which has no public half.
        """
        if self.is_symmetric:
            raise ValueError(f"key {self.kid!r} is an HMAC secret and has no public half")
        return ServiceKey(self.kid, self.algorithm, self.verifying_key)

    def to_jwk(self) -> dict[str, Any]:
        """The public JWK (with ``kid``, ``alg`` and ``use: sig``), for a JWKS document.

        Raises:
            ValueError: The key is an HMAC secret, which must never be published.
        """
        if self.is_symmetric:
            raise ValueError(f"key {self.kid!r} is an HMAC secret and must not be published")
        jwt = require("jwt", "auth")
        algorithm = jwt.algorithms.get_default_algorithms()[self.algorithm]
        jwk: dict[str, Any] = algorithm.to_jwk(self.verifying_key, as_dict=True)
        jwk.update(kid=self.kid, alg=self.algorithm, use="sig")
        return jwk

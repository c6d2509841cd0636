"""`ServiceAuthSigner`: mints short-lived, audience-bound service tokens (JWT)."""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from mic._deps import require
from mic.auth._keys import ServiceKey

RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope"})
DEFAULT_LIFETIME = 300.0
# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Scopes as a sorted tuple, each a valid scope token (RFC 6749 section 3.3).

    Raises:
        TypeError: `scopes` is a single string (a common slip for a one-item list).
        ValueError: A scope is empty or has a character RFC 6749 does not allow.
    """
    if isinstance(scopes, str):
        raise TypeError("scopes must be an iterable of scope strings, not one string")
    checked = tuple(sorted(set(scopes)))
    for scope in checked:
        if not isinstance(scope, str) or not _SCOPE_TOKEN.fullmatch(scope):
            raise ValueError(
                f"scope {scope!r} must be a non-empty RFC 6749 scope token "
                "(printable ASCII without spaces, quotes or backslashes)"
            )
    return checked


def _is_positive_duration(seconds: float) -> bool:
    # `0 < x < inf` is False for NaN too, which `x <= 0` would let through.
    return isinstance(seconds, int | float) and 0 < seconds < math.inf


class ServiceAuthSigner:
    """Signs service tokens with one key, and publishes every public key as a JWKS.

    Args:
        issuer: This service's name; the ``iss`` claim (and the default ``sub``).
        keys: One key or several; several keys serve rotation (all are published, one signs).
        signing_kid: Which key signs; defaults to the only, or first, key that can sign.
        lifetime: Default token lifetime in seconds (kept short: tokens cannot be revoked).
        clock: Wall clock in seconds since the epoch (injectable for tests).

    Raises:
        ValueError: No key can sign, kids repeat, or the lifetime is not positive.

    Signing is CPU-only and thread-safe; `ServiceHttpClient` caches the tokens it gets.
    """

    def __init__(
        self,
        *,
        issuer: str,
        keys: ServiceKey | Sequence[ServiceKey],
        signing_kid: str | None = None,
        lifetime: float = DEFAULT_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key_list = [keys] if isinstance(keys, ServiceKey) else list(keys)
        if not issuer:
            raise ValueError("the signer needs an issuer")
        if not _is_positive_duration(lifetime):
            raise ValueError("lifetime must be > 0 seconds, and finite")
        kids = [key.kid for key in key_list]
        if len(set(kids)) != len(kids):
            raise ValueError(f"key ids must be unique, got {kids}")
        signing = [k for k in key_list if k.can_sign and signing_kid in (None, k.kid)]
        if not signing:
            wanted = f"key {signing_kid!r}" if signing_kid else "a key"
            raise ValueError(f"the signer needs {wanted} with signing material")
        self._jwt = require("jwt", "auth")
        self.issuer = issuer
        self.lifetime = float(lifetime)
        self.signing_key = signing[0]
        self.keys: tuple[ServiceKey, ...] = tuple(key_list)
        self._clock = clock

    def sign(
        self,
        audience: str | Sequence[str],
        *,
        subject: str | None = None,
        scopes: Iterable[str] = (),
        lifetime: float | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed token for `audience` (one service name, or several).

        Args:
            audience: The target service(s); verifiers only accept tokens naming them.
            subject: ``sub``; defaults to the issuer (the calling service itself).
            scopes: What the caller asks to do; sent as the space-separated ``scope`` claim.
            lifetime: Seconds until ``exp``; defaults to the signer's lifetime.
            claims: Extra, non-registered claims.

        Raises:
            ValueError: No audience, a bad scope, a non-positive lifetime, or an extra claim
                that would override a registered one.
        """
        audiences = [audience] if isinstance(audience, str) else list(audience)
        if not audiences or not all(isinstance(a, str) and a for a in audiences):
            raise ValueError("a token needs at least one non-empty audience")
        seconds = self.lifetime if lifetime is None else lifetime
        if not _is_positive_duration(seconds):
            raise ValueError("lifetime must be > 0 seconds, and finite")
        extra = dict(claims or {})
        if clash := sorted(RESERVED_CLAIMS & extra.keys()):
            raise ValueError(f"extra claims may not set registered claims {clash}")
        issued_at = int(self._clock())
        payload: dict[str, Any] = {
            **extra,
            "iss": self.issuer,
            "sub": subject or self.issuer,
            "aud": audiences[0] if len(audiences) == 1 else audiences,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + math.ceil(seconds),
            "jti": secrets.token_urlsafe(16),
        }
        if scope_list := check_scopes(scopes):
            payload["scope"] = " ".join(scope_list)
        key = self.signing_key
        token: str = self._jwt.encode(
            payload, key.signing_key, algorithm=key.algorithm, headers={"kid": key.kid}
        )
        return token

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JWKS document (RFC 7517 section 5); HMAC secrets never appear.

        Serve it at a URL (``/.well-known/jwks.json``) for verifiers using `RemoteJwks`; keep
        a retired key in the signer (verify-only) until the tokens it signed have expired.
        """
        return {"keys": [key.to_jwk() for key in self.keys if not key.is_symmetric]}

"""`ServiceAuthVerifier`: checks service tokens the way RFC 8725 asks, with typed failures.

The hot path parses the compact JWS once, picks the key by ``kid`` from a dict of keys that
were parsed at construction, checks that the header's ``alg`` is the key's one algorithm,
verifies the signature with pyjwt's algorithm object, then checks the claims.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

from mic._deps import require
from mic.auth._errors import (
    MalformedTokenError,
    TokenAudienceError,
    TokenExpiredError,
    TokenIssuerError,
    TokenLifetimeError,
    TokenNotYetValidError,
    TokenRevokedError,
    TokenSignatureError,
)
from mic.auth._jwks import RemoteJwks
from mic.auth._keys import ServiceKey
from mic.model import TransientError

if TYPE_CHECKING:
    from mic.auth._revocation import RevokeBlacklist

logger = logging.getLogger("mic.auth")

_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Far beyond any real date (year ~33000), far below where `float()` overflows.
_LARGEST_DATE = 10**12


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A service token whose signature and claims checked out.

    Attributes:
        subject: ``sub``: the calling service (or the principal it acts for).
        issuer: ``iss``: the service that signed the token.
        audience: ``aud`` as a tuple.
        scopes: The space-separated ``scope`` claim, as a set.
        token_id: ``jti``.
        issued_at: ``iat``, seconds since the epoch.
        expires_at: ``exp``, seconds since the epoch.
        key_id: The ``kid`` of the key that verified the signature.
        claims: Every claim of the token.
    """

    subject: str
    issuer: str
    audience: tuple[str, ...]
    scopes: frozenset[str]
    token_id: str
    issued_at: float
    expires_at: float
    key_id: str
    claims: Mapping[str, Any] = field(repr=False)


def _segment(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _refuse_constant(name: str) -> Any:
    # RFC 8259 section 6: NaN and Infinity are not JSON; Python's parser would accept them,
    # and an `exp` of NaN compares false with everything (a token that never expires).
    raise ValueError(f"{name} is not a JSON number")


# Built once: `json.loads(..., parse_constant=...)` would build a decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        # RFC 7515 section 2: the segments are UTF-8 (a bad byte is a ValueError too).
        value = _DECODER.decode(_segment(segment).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        # ValueError covers binascii.Error and bad UTF-8; RecursionError a deeply nested
        # document, which is the sender's fault (401), not the server's (500).
        raise MalformedTokenError(message=f"The token {what} is not base64url JSON") from exc
    if not isinstance(value, dict):
        raise MalformedTokenError(message=f"The token {what} is not a JSON object")
    return value


def _string(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedTokenError(message=f"The token has no valid '{name}' claim")
    return value


def _is_number(value: Any) -> TypeGuard[float]:
    # bool is an int subclass, and not a NumericDate (RFC 7519 section 2). An integer past
    # the float range would overflow in `float()`: it is no date either.
    if type(value) is int:
        return abs(value) < _LARGEST_DATE
    return type(value) is float and math.isfinite(value)


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if not _is_number(value):
        raise MalformedTokenError(message=f"The token has no valid '{name}' claim")
    return float(value)


class ServiceAuthVerifier:
    """Verifies service tokens for one audience, from allowed issuers, with known keys.

    Args:
        audience: This service's name; a token's ``aud`` must contain it.
        issuers: The services whose tokens are accepted (``iss`` allow-list).
        keys: Verification keys. Private keys are reduced to their public half, so the
            verifier never holds something that can mint tokens (HMAC secrets excepted).
        jwks: A `RemoteJwks` to read further public keys from.
        leeway: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
        max_lifetime: Longest accepted ``exp - iat``, in seconds.
        clock: Wall clock in seconds since the epoch (injectable for tests).
        revocations: A `RevokeBlacklist` asked after every other check passed.
        revocation_failure: What a verify does when the blacklist cannot answer:
            ``"closed"`` (default) refuses with a 503, ``"open"`` accepts the token and
            logs a warning.

    Raises:
        TypeError: `issuers` is one string rather than an iterable of names.
        ValueError: No audience, issuer or key source; repeated kids; negative or
            non-finite durations.

    `verify` is safe to call concurrently; with static keys only it does no I/O.
    """

    def __init__(
        self,
        *,
        audience: str,
        issuers: Iterable[str],
        keys: ServiceKey | Sequence[ServiceKey] = (),
        jwks: RemoteJwks | None = None,
        leeway: float = 30.0,
        max_lifetime: float = 3600.0,
        clock: Callable[[], float] = time.time,
        revocations: RevokeBlacklist | None = None,
        revocation_failure: Literal["closed", "open"] = "closed",
    ) -> None:
        jwt = require("jwt", "auth")
        if revocation_failure not in ("closed", "open"):
            raise ValueError("revocation_failure must be 'closed' or 'open'")
        self.revocations = revocations
        self.revocation_failure = revocation_failure
        key_list = [keys] if isinstance(keys, ServiceKey) else list(keys)
        if isinstance(issuers, str):
            # frozenset("orders") would trust the issuers "o", "r", "d"...
            raise TypeError("issuers must be an iterable of issuer names, not one string")
        self.audience = audience
        self.issuers = frozenset(issuers)
        if not audience or not isinstance(audience, str):
            raise ValueError("the verifier needs its own audience (this service's name)")
        if not self.issuers or not all(self.issuers):
            raise ValueError("the verifier needs at least one non-empty issuer")
        if not key_list and jwks is None:
            raise ValueError("the verifier needs keys or a JWKS source")
        # `not (x >= 0)` also refuses NaN, which would make every time comparison false.
        if not (0 <= leeway < math.inf) or not (0 < max_lifetime < math.inf):
            raise ValueError("leeway must be >= 0 and max_lifetime > 0 (both finite)")
        kids = [key.kid for key in key_list]
        if len(set(kids)) != len(kids):
            raise ValueError(f"key ids must be unique, got {kids}")
        self.keys: dict[str, ServiceKey] = {
            k.kid: (k if k.is_symmetric else k.public()) for k in key_list
        }
        self.jwks = jwks
        self.leeway = float(leeway)
        self.max_lifetime = float(max_lifetime)
        self._clock = clock
        self._algorithms = jwt.algorithms.get_default_algorithms()
        # RFC 8725 section 3.1: a token without `kid` is only accepted when the key is certain.
        self._only_key = key_list[0].kid if len(key_list) == 1 and jwks is None else None

    async def verify(self, token: str) -> VerifiedToken:
        """Verify `token` (the compact JWS, without ``Bearer``).

        Raises:
            MalformedTokenError: Not a compact JWS, or a required claim is missing/mistyped.
            TokenSignatureError: Unknown key, disallowed algorithm, or a bad signature.
            TokenExpiredError: Expired; also reported when the key is gone since (rotation).
            TokenNotYetValidError: ``nbf`` or ``iat`` in the future.
            TokenIssuerError: ``iss`` not allowed.
            TokenAudienceError: ``aud`` does not name this service.
            TokenLifetimeError: ``exp - iat`` over the maximum lifetime.
            TokenRevokedError: The token or its subject was revoked.
            TransientError: The JWKS could never be fetched, or the revocation blacklist
                cannot answer under ``revocation_failure="closed"`` (503).
        """
        if not isinstance(token, str) or not _COMPACT_JWS.fullmatch(token):
            raise MalformedTokenError(message="The token is not a compact JWS")
        header_segment, payload_segment, signature_segment = token.split(".")
        header = _json_object(header_segment, "header")
        key = await self._key_for(header, payload_segment)
        algorithm = header.get("alg")
        if algorithm != key.algorithm:
            # Also rejects "none" and HS/RS confusion: the key fixes the algorithm.
            self._raise_if_expired(payload_segment)
            raise TokenSignatureError(
                message=f"Algorithm {repr(algorithm)[:40]} is not allowed for key {key.kid!r}"
            )
        if "crit" in header:
            raise MalformedTokenError(message="The token uses critical header extensions")
        signing_input = token[: len(header_segment) + 1 + len(payload_segment)].encode("ascii")
        try:
            signature = _segment(signature_segment)
        except binascii.Error as exc:
            raise MalformedTokenError(message="The token signature is not base64url") from exc
        if not self._algorithms[key.algorithm].verify(signing_input, key.verifying_key, signature):
            self._raise_if_expired(payload_segment)
            raise TokenSignatureError(message="The token signature does not verify")
        claims = _json_object(payload_segment, "payload")
        verified = self._check_claims(claims, key.kid)
        if self.revocations is not None:
            await self._check_revocation(self.revocations, verified)
        return verified

    async def _check_revocation(self, revocations: RevokeBlacklist, token: VerifiedToken) -> None:
        try:
            revoked = await revocations.is_revoked(token)
        except Exception as error:  # noqa: BLE001 - any store failure takes the same path
            if self.revocation_failure == "open":
                logger.warning(
                    "revocation blacklist unavailable (%s): accepting the token (fail open)",
                    type(error).__name__,
                )
                return
            logger.warning("revocation blacklist unavailable (%s)", type(error).__name__)
            raise TransientError(
                "revocation_unavailable",
                "Token revocation cannot be checked right now; try again later",
                retry_after=1,
            ) from None
        if revoked:
            raise TokenRevokedError(message="The token has been revoked")

    async def _key_for(self, header: Mapping[str, Any], payload_segment: str) -> ServiceKey:
        kid = header.get("kid")
        if kid is None:
            if self._only_key is None:
                raise MalformedTokenError(message="The token header has no 'kid'")
            return self.keys[self._only_key]
        if not isinstance(kid, str):
            raise MalformedTokenError(message="The token header 'kid' is not a string")
        key = self.keys.get(kid)
        if key is not None:
            return key
        # An expired token is reported as expired during rotation, without asking the JWKS
        # (no fetch, no 503 while the signer is down) for a key it would not need anyway.
        self._raise_if_expired(payload_segment)
        if self.jwks is not None:
            remote = self.jwks.fresh_keys()
            if remote is None:
                remote = await self.jwks.keys()
            if kid not in remote:
                remote = await self.jwks.refresh_for_unknown_kid()
            if (key := remote.get(kid)) is not None:
                return key
        raise TokenSignatureError(message=f"No key with id {kid[:64]!r} is known")

    def _raise_if_expired(self, payload_segment: str) -> None:
        """Report an expired token as expired even when its key has been rotated away."""
        try:
            expires = _json_object(payload_segment, "payload").get("exp")
        except MalformedTokenError:
            return
        if _is_number(expires) and self._clock() - self.leeway >= expires:
            raise TokenExpiredError(message="The token has expired")

    def _check_claims(self, claims: dict[str, Any], kid: str) -> VerifiedToken:
        now = self._clock()
        leeway = self.leeway
        expires = _number(claims, "exp")
        issued = _number(claims, "iat")
        # RFC 7519 section 4.1.4: the token must not be accepted on or after `exp`.
        if now - leeway >= expires:
            raise TokenExpiredError(message="The token has expired")
        if "nbf" in claims and _number(claims, "nbf") > now + leeway:
            raise TokenNotYetValidError(message="The token is not valid yet (nbf)")
        if issued > now + leeway:
            raise TokenNotYetValidError(message="The token was issued in the future (iat)")
        if expires - issued > self.max_lifetime:
            raise TokenLifetimeError(
                message=f"The token lives longer than {self.max_lifetime:g} seconds"
            )
        issuer = _string(claims, "iss")
        if issuer not in self.issuers:
            raise TokenIssuerError(message=f"Issuer {issuer!r} is not trusted")
        audience = claims.get("aud")
        audiences = (audience,) if isinstance(audience, str) else audience
        if not isinstance(audiences, list | tuple) or not all(
            isinstance(a, str) for a in audiences
        ):
            raise MalformedTokenError(message="The token has no valid 'aud' claim")
        if self.audience not in audiences:
            raise TokenAudienceError(message=f"The token is not meant for {self.audience!r}")
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise MalformedTokenError(message="The token 'scope' claim is not a string")
        return VerifiedToken(
            subject=_string(claims, "sub"),
            issuer=issuer,
            audience=tuple(audiences),
            scopes=frozenset(scope.split()),
            token_id=_string(claims, "jti"),
            issued_at=issued,
            expires_at=expires,
            key_id=kid,
            claims=claims,
        )

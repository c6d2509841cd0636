"""Typed token errors: each says why a service token was refused, and each is a 401.

Every class is an `UnauthorizedError`, so a handler or interceptor that lets one escape
answers a 401 problem+json whose ``code`` names the reason (RFC 9457, ADR 0002).
"""

from __future__ import annotations

from mic.model import UnauthorizedError


class InvalidTokenError(UnauthorizedError):
    """A service token was refused; subclasses say why (401, ``invalid_token``)."""

    default_code = "invalid_token"


class MalformedTokenError(InvalidTokenError):
    """The token is not a well-formed JWS, or a required claim is missing or mistyped."""

    default_code = "token_malformed"


class TokenExpiredError(InvalidTokenError):
    """The token's ``exp`` is in the past (beyond the leeway)."""

    default_code = "token_expired"


class TokenNotYetValidError(InvalidTokenError):
    """The token's ``nbf`` or ``iat`` is in the future (beyond the leeway)."""

    default_code = "token_not_yet_valid"


class TokenAudienceError(InvalidTokenError):
    """The token's ``aud`` does not name this service."""

    default_code = "token_wrong_audience"


class TokenIssuerError(InvalidTokenError):
    """The token's ``iss`` is not on the verifier's allow-list."""

    default_code = "token_untrusted_issuer"


class TokenSignatureError(InvalidTokenError):
    """The signature does not verify, the key is unknown, or the algorithm is not allowed."""

    default_code = "token_bad_signature"


class TokenLifetimeError(InvalidTokenError):
    """The token lives longer (``exp - iat``) than the verifier's maximum lifetime."""

    default_code = "token_lifetime_too_long"


class TokenRevokedError(InvalidTokenError):
    """The token's ``jti``, or every token of its subject, was revoked (`RevokeBlacklist`)."""

    default_code = "token_revoked"

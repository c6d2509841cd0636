"""Service-to-service auth: signed service tokens, API keys, and route auth policies.

`ServiceAuthSigner` mints short-lived, audience-bound JWTs; `ServiceAuthVerifier` checks them
(RFC 8725). `ServiceAuth`, `ApiKeyAuth` and `CustomAuth` go on `HttpRouteSpec(auth=...)` and
are enforced the same way by every adapter. Token features need the ``auth`` extra (pyjwt);
JWKS URLs also need ``client`` (httpx); `SqlApiKeyStore` needs ``sql`` (SQLAlchemy).
`RevokeBlacklist` (in memory, or `RedisRevokeBlacklist` with ``redis``) revokes tokens by
``jti`` or by subject.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mic.auth._api_keys import ApiKey, ApiKeyStore, InMemoryApiKeyStore, IssuedApiKey
from mic.auth._errors import (
    InvalidTokenError,
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
from mic.auth._keys import SUPPORTED_ALGORITHMS, ServiceKey
from mic.auth._policies import ApiKeyAuth, CustomAuth, IdentityCheck, ServiceAuth
from mic.auth._revocation import InMemoryRevokeBlacklist, RevokeBlacklist
from mic.auth._signer import ServiceAuthSigner
from mic.auth._verifier import ServiceAuthVerifier, VerifiedToken

if TYPE_CHECKING:
    from mic.auth._redis_revocation import RedisRevokeBlacklist
    from mic.auth._sql_keys import SqlApiKeyStore

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "ApiKey",
    "ApiKeyAuth",
    "ApiKeyStore",
    "CustomAuth",
    "IdentityCheck",
    "InMemoryApiKeyStore",
    "InMemoryRevokeBlacklist",
    "InvalidTokenError",
    "IssuedApiKey",
    "MalformedTokenError",
    "RedisRevokeBlacklist",
    "RemoteJwks",
    "RevokeBlacklist",
    "ServiceAuth",
    "ServiceAuthSigner",
    "ServiceAuthVerifier",
    "ServiceKey",
    "SqlApiKeyStore",
    "TokenAudienceError",
    "TokenExpiredError",
    "TokenIssuerError",
    "TokenLifetimeError",
    "TokenNotYetValidError",
    "TokenRevokedError",
    "TokenSignatureError",
    "VerifiedToken",
]


def __getattr__(name: str) -> Any:
    # The SQL store imports SQLAlchemy only when used (extra ``sql``, ADR 0005).
    if name == "SqlApiKeyStore":
        from mic.auth._sql_keys import SqlApiKeyStore

        return SqlApiKeyStore
    if name == "RedisRevokeBlacklist":
        from mic.auth._redis_revocation import RedisRevokeBlacklist

        return RedisRevokeBlacklist
    raise AttributeError(f"module 'mic.auth' has no attribute {name!r}")

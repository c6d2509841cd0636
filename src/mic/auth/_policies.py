"""Route auth policies: `ServiceAuth`, `ApiKeyAuth`, `CustomAuth`, put on `HttpRouteSpec.auth`.

Each is a `RouteInterceptor`: `bind` runs when the router is built and refuses to build a
protected route whose verifier or key store is not configured (fail closed). At request time
it sets `HttpRequestContext.identity`, or answers 401 (with ``WWW-Authenticate``, RFC 9110
section 11.6.1) or 403 (authenticated, but not allowed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from mic.auth._api_keys import ApiKeyStore
from mic.auth._errors import InvalidTokenError
from mic.auth._signer import check_scopes
from mic.auth._verifier import ServiceAuthVerifier
from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Identity,
    Interceptor,
    RouteInterceptor,
    RouteSpecError,
    SecurityRequirement,
)
from mic.model import ForbiddenError, UnauthorizedError

IdentityCheck = Callable[[HttpRequestContext], Awaitable[Identity | None]]
"""A custom check: the caller's `Identity`, or ``None`` when it is not authenticated."""

BEARER_JWT_SCHEME: Mapping[str, Any] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}

# RFC 6750 section 3: fixed descriptions, never text from the token (no header injection).
_DESCRIPTIONS = {
    "token_expired": "The token has expired",
    "token_not_yet_valid": "The token is not valid yet",
    "token_wrong_audience": "The token is meant for another service",
    "token_untrusted_issuer": "The token issuer is not trusted",
    "token_bad_signature": "The token signature does not verify",
    "token_lifetime_too_long": "The token lifetime is too long",
    "token_revoked": "The token has been revoked",
}


def _bearer_challenge(error: str | None = None, **params: str) -> str:
    if error is None:
        return "Bearer"
    extra = "".join(f', {name}="{value}"' for name, value in params.items())
    return f'Bearer error="{error}"{extra}'


def _bearer_token(context: HttpRequestContext) -> str:
    values = context.headers.getall("authorization")
    if not values:
        raise UnauthorizedError(
            "missing_credentials", "This route needs a service token (Authorization: Bearer)",
            headers={"WWW-Authenticate": _bearer_challenge()},
        )  # fmt: skip
    scheme, _, token = values[0].strip().partition(" ")
    if scheme.lower() != "bearer":
        raise UnauthorizedError(
            "wrong_auth_scheme", "This route needs a Bearer token",
            headers={"WWW-Authenticate": _bearer_challenge()},
        )  # fmt: skip
    token = token.strip()
    if len(values) > 1 or not token or " " in token:
        raise UnauthorizedError(
            "malformed_credentials", "The Authorization header is malformed",
            headers={"WWW-Authenticate": _bearer_challenge("invalid_request")},
        )  # fmt: skip
    return token


def _require_scopes(required: frozenset[str], granted: frozenset[str], challenge: str) -> None:
    if missing := required - granted:
        raise ForbiddenError(
            "insufficient_scope",
            "The caller lacks a scope this route requires",
            {"required_scopes": sorted(required), "missing_scopes": sorted(missing)},
            headers={"WWW-Authenticate": challenge},
        )


class ServiceAuth(RouteInterceptor):
    """The route needs a valid service token, optionally from given issuers with given scopes.

    Args:
        issuers: Only these callers (``iss``) may call the route; ``None`` means any issuer
            the `ServiceAuthVerifier` trusts. Others get a 403.
        scopes: Scopes the token must all carry; otherwise 403 ``insufficient_scope``.
        scheme_name: The OpenAPI security scheme name.

    Raises:
        TypeError: `issuers` is one string rather than an iterable of names.
        ValueError: An empty `issuers`, or an invalid scope.

    The `ServiceAuthVerifier` comes from ``HttpRouterConfig(services={ServiceAuthVerifier: ...})``.
    """

    def __init__(
        self,
        *,
        issuers: Iterable[str] | None = None,
        scopes: Iterable[str] = (),
        scheme_name: str = "serviceToken",
    ) -> None:
        if isinstance(issuers, str):
            raise TypeError("issuers must be an iterable of issuer names, not one string")
        self.issuers = None if issuers is None else frozenset(issuers)
        if self.issuers is not None and not self.issuers:
            raise ValueError("issuers=() would refuse every caller; use None for any issuer")
        self.scopes = frozenset(check_scopes(scopes))
        self.scheme_name = scheme_name

    def __repr__(self) -> str:
        issuers = None if self.issuers is None else sorted(self.issuers)
        return f"ServiceAuth(issuers={issuers!r}, scopes={sorted(self.scopes)!r})"

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """Check the verifier is configured and trusts `issuers`; return the request check.

        Raises:
            RouteSpecError: No `ServiceAuthVerifier` service, or an issuer it does not trust.
        """
        verifier = config.get(ServiceAuthVerifier)
        if verifier is None:
            raise RouteSpecError(
                f"route {route.name!r} requires service auth, but HttpRouterConfig.services "
                "has no ServiceAuthVerifier"
            )
        if self.issuers is not None and (unknown := self.issuers - verifier.issuers):
            raise RouteSpecError(
                f"route {route.name!r} allows issuers {sorted(unknown)} that the "
                "ServiceAuthVerifier does not trust"
            )
        issuers, required = self.issuers, self.scopes
        scope_challenge = _bearer_challenge("insufficient_scope", scope=" ".join(sorted(required)))

        async def authenticate(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            token = _bearer_token(context)
            try:
                verified = await verifier.verify(token)
            except InvalidTokenError as error:
                description = _DESCRIPTIONS.get(error.code, "The token is not valid")
                error.headers["WWW-Authenticate"] = _bearer_challenge(
                    "invalid_token", error_description=description
                )
                raise
            if issuers is not None and verified.issuer not in issuers:
                raise ForbiddenError(
                    "issuer_not_allowed", "This caller may not use this route",
                    {"issuer": verified.issuer},
                )  # fmt: skip
            _require_scopes(required, verified.scopes, scope_challenge)
            context.identity = Identity(
                subject=verified.subject, kind="service", issuer=verified.issuer,
                scopes=verified.scopes, claims=verified.claims,
            )  # fmt: skip
            return await call_next(context)

        return authenticate

    def openapi_security(self) -> SecurityRequirement:
        """HTTP bearer (JWT) with the required scopes."""
        return SecurityRequirement(self.scheme_name, BEARER_JWT_SCHEME, tuple(sorted(self.scopes)))

    def openapi_errors(self) -> Mapping[int, str]:
        """401 without a valid token; 403 without an allowed issuer or the scopes."""
        return {
            401: "No valid service token (see WWW-Authenticate)",
            403: "The caller is not allowed: issuer or scope",
        }


class ApiKeyAuth(RouteInterceptor):
    """The route needs a valid, unrevoked API key carrying `scopes`, sent in `header`.

    Args:
        scopes: Scopes the key must all carry; otherwise 403 ``insufficient_scope``.
        header: The request header holding the key.
        scheme_name: The OpenAPI security scheme name.

    The `ApiKeyStore` comes from ``HttpRouterConfig(services={ApiKeyStore: ...})``.
    """

    def __init__(
        self, *, scopes: Iterable[str] = (), header: str = "X-API-Key", scheme_name: str = "apiKey"
    ) -> None:
        if not header or not header.replace("-", "").isalnum():
            raise ValueError(f"header {header!r} is not a plain header name")
        self.scopes = frozenset(check_scopes(scopes))
        self.header = header
        self.scheme_name = scheme_name

    def __repr__(self) -> str:
        return f"ApiKeyAuth(scopes={sorted(self.scopes)!r}, header={self.header!r})"

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """Check an `ApiKeyStore` is configured; return the request check.

        Raises:
            RouteSpecError: No `ApiKeyStore` service is configured.
        """
        # `HttpRouterConfig.get` is typed for concrete classes; `ApiKeyStore` is an ABC.
        store = config.get(ApiKeyStore)
        if store is None:
            raise RouteSpecError(
                f"route {route.name!r} requires an API key, but HttpRouterConfig.services "
                "has no ApiKeyStore (register the store under that key: "
                "services={ApiKeyStore: store})"
            )
        header, required = self.header, self.scopes
        challenge = f'ApiKey header="{header}"'

        async def authenticate(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            values = context.headers.getall(header)
            if not values:
                raise UnauthorizedError(
                    "missing_credentials", f"This route needs an API key in {header}",
                    headers={"WWW-Authenticate": challenge},
                )  # fmt: skip
            record = await store.verify(values[0].strip()) if len(values) == 1 else None
            if record is None:
                raise UnauthorizedError(
                    "invalid_api_key", "The API key is unknown, revoked or malformed",
                    headers={"WWW-Authenticate": challenge},
                )  # fmt: skip
            _require_scopes(required, record.scopes, challenge)
            context.identity = Identity(
                subject=record.key_id, kind="api_key", scopes=record.scopes,
                claims={"name": record.name},
            )  # fmt: skip
            return await call_next(context)

        return authenticate

    def openapi_security(self) -> SecurityRequirement:
        """An ``apiKey`` scheme in the request header."""
        scheme = {"type": "apiKey", "in": "header", "name": self.header}
        return SecurityRequirement(self.scheme_name, scheme, tuple(sorted(self.scopes)))

    def openapi_errors(self) -> Mapping[int, str]:
        """401 without a valid key; 403 without the scopes."""
        return {401: "No valid API key", 403: "The API key lacks a required scope"}


class CustomAuth(RouteInterceptor):
    """The route runs `check`, which returns the caller's `Identity` or ``None`` (401).

    Args:
        check: ``async (context) -> Identity | None``; it may also raise a `DomainError`
            (a `ForbiddenError` for an authenticated caller who may not proceed).
        scopes: Scopes the identity must all carry; otherwise 403.
        challenge: The ``WWW-Authenticate`` value of the 401.
        security: What the OpenAPI document shows; ``None`` shows nothing.
    """

    def __init__(
        self,
        check: IdentityCheck,
        *,
        scopes: Iterable[str] = (),
        challenge: str = "Bearer",
        security: SecurityRequirement | None = None,
    ) -> None:
        if not callable(check):
            raise TypeError("check must be an async callable (context) -> Identity | None")
        self.check = check
        self.scopes = frozenset(check_scopes(scopes))
        self.challenge = challenge
        self.security = security

    def __repr__(self) -> str:
        return f"CustomAuth({self.check!r}, scopes={sorted(self.scopes)!r})"

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """Return the request check (nothing to look up)."""
        check, required, challenge = self.check, self.scopes, self.challenge

        async def authenticate(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            identity = await check(context)
            if identity is None:
                raise UnauthorizedError(
                    "unauthorized", "This route needs authentication",
                    headers={"WWW-Authenticate": challenge},
                )  # fmt: skip
            _require_scopes(required, identity.scopes, challenge)
            context.identity = identity
            return await call_next(context)

        return authenticate

    def openapi_security(self) -> SecurityRequirement | None:
        """The `security` given at construction."""
        return self.security

    def openapi_errors(self) -> Mapping[int, str]:
        """401 when the check finds no identity; 403 without the scopes."""
        errors = {401: "Not authenticated"}
        if self.scopes:
            errors[403] = "The caller lacks a required scope"
        return errors

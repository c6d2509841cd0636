"""Audience-bound service auth for gRPC: a server interceptor and a client interceptor.

The server side verifies ``authorization: Bearer <token>`` with a `ServiceAuthVerifier`
(bound to this service's audience) on every method that is not explicitly public, and
fails closed: no token, a bad one, or a verifier error never reaches the handler. The
client side signs every call with a cached token, and adds the correlation id,
``traceparent`` and the remaining deadline of the RPC being served.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from mic._deps import require
from mic.auth import ServiceAuthSigner, ServiceAuthVerifier, VerifiedToken
from mic.auth._signer import check_scopes
from mic.client._client import _TokenCache
from mic.grpc._errors import error_trailers
from mic.grpc._servicer import identity_var, internal_error, logger, remaining_time
from mic.http import Identity
from mic.model import DomainError, ForbiddenError, UnauthorizedError

require("grpc", "grpc")

import grpc.aio  # noqa: E402

import grpc  # noqa: E402

HEALTH_METHODS = frozenset({"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"})
"""The health service's methods: public by default (probes carry no token)."""


def _abort_handler(handler: Any, error: DomainError) -> Any:
    """A handler of the same kind as `handler` that refuses the call with `error`."""
    code, message, trailers = error_trailers(error)

    async def refuse(request: Any, context: Any) -> Any:
        await context.abort(code, message, trailers)

    async def refuse_stream(request: Any, context: Any) -> Any:
        await context.abort(code, message, trailers)
        yield  # pragma: no cover - abort raises; this only makes an async generator

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse_stream)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse_stream)
    return grpc.unary_unary_rpc_method_handler(refuse)


def _bearer(metadata: Iterable[Any]) -> str:
    values = [value for key, value in metadata if key == "authorization"]
    if not values:
        raise UnauthorizedError("missing_credentials", "This method needs a service token")
    scheme, _, token = str(values[0]).strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        raise UnauthorizedError("wrong_auth_scheme", "This method needs a Bearer token")
    if len(values) > 1 or not token or " " in token:
        raise UnauthorizedError("malformed_credentials", "The authorization metadata is malformed")
    return token


def _with_identity_unary(behaviour: Any, identity: Identity) -> Any:
    is_async = inspect.iscoroutinefunction(behaviour)

    async def run(request: Any, context: Any) -> Any:
        token = identity_var.set(identity)
        try:
            if is_async:
                return await behaviour(request, context)
            # A blocking behaviour runs in a thread (with this context), as grpcio would.
            return await asyncio.to_thread(behaviour, request, context)
        finally:
            identity_var.reset(token)

    return run


def _with_identity_stream(behaviour: Any, identity: Identity) -> Any:
    async def run(request: Any, context: Any) -> Any:
        token = identity_var.set(identity)
        try:
            responses = behaviour(request, context)
            if hasattr(responses, "__aiter__"):
                async for response in responses:
                    yield response
            else:
                for response in responses:
                    yield response
        finally:
            identity_var.reset(token)

    return run


def _wrap(handler: Any, identity: Identity) -> Any:
    """`handler` with `identity` in context while its behaviour runs (any of the four kinds)."""
    for name, wrapper in (
        ("unary_unary", _with_identity_unary),
        ("stream_unary", _with_identity_unary),
        ("unary_stream", _with_identity_stream),
        ("stream_stream", _with_identity_stream),
    ):
        behaviour = getattr(handler, name)
        if behaviour is not None:
            return handler._replace(**{name: wrapper(behaviour, identity)})
    return handler  # pragma: no cover - grpcio handlers always have one behaviour


class ServiceAuthServerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Verify a service token on every call, except explicitly public methods.

    Args:
        verifier: Verifies tokens for this service's audience.
        issuers: Only these callers (``iss``) may call; ``None`` means any the verifier
            trusts. Others get ``PERMISSION_DENIED``.
        scopes: Scopes every token must carry (``PERMISSION_DENIED`` otherwise).
        method_scopes: Further scopes per method path (``/package.Service/Method``).
        public_methods: Method paths callable without a token; by default the health
            service (probes carry no token). Reflection is public only when listed.

    A missing, malformed, expired or foreign token answers ``UNAUTHENTICATED``; a valid token
    without the issuer or scopes answers ``PERMISSION_DENIED``; a verifier that cannot work
    (JWKS down) answers ``UNAVAILABLE``; anything else it raises answers ``INTERNAL``. In each
    case the handler never runs. The verified caller reaches mic handlers as
    ``HttpRequestContext.identity``.
    """

    def __init__(
        self,
        verifier: ServiceAuthVerifier,
        *,
        issuers: Iterable[str] | None = None,
        scopes: Iterable[str] = (),
        method_scopes: Mapping[str, Iterable[str]] | None = None,
        public_methods: Iterable[str] = HEALTH_METHODS,
    ) -> None:
        if not isinstance(verifier, ServiceAuthVerifier):
            raise TypeError("verifier must be a ServiceAuthVerifier")
        if isinstance(issuers, str) or isinstance(public_methods, str):
            raise TypeError("issuers and public_methods must be iterables, not one string")
        self.verifier = verifier
        self.issuers = None if issuers is None else frozenset(issuers)
        if self.issuers is not None and (unknown := self.issuers - verifier.issuers):
            raise ValueError(f"issuers {sorted(unknown)} are not trusted by the verifier")
        self.scopes = frozenset(check_scopes(scopes))
        self.method_scopes = {
            path: self.scopes | frozenset(check_scopes(extra))
            for path, extra in (method_scopes or {}).items()
        }
        self.public_methods = frozenset(public_methods)

    async def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        """Refuse the call, or run it with the caller's identity in context."""
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method in self.public_methods:
            return handler
        try:
            verified = await self._authenticate(handler_call_details.invocation_metadata or ())
            identity = self._authorize(method, verified)
        except DomainError as error:
            return _abort_handler(handler, error)
        except Exception:  # noqa: BLE001 - fail closed on any verifier failure
            logger.exception("the token verifier failed on %s", method)
            return _abort_handler(handler, internal_error("Authentication failed"))
        return _wrap(handler, identity)

    async def _authenticate(self, metadata: Iterable[Any]) -> VerifiedToken:
        return await self.verifier.verify(_bearer(metadata))

    def _authorize(self, method: str, verified: VerifiedToken) -> Identity:
        if self.issuers is not None and verified.issuer not in self.issuers:
            raise ForbiddenError(
                "issuer_not_allowed",
                "This caller may not use this method",
                {"issuer": verified.issuer},
            )
        required = self.method_scopes.get(method, self.scopes)
        if missing := required - verified.scopes:
            raise ForbiddenError(
                "insufficient_scope",
                "The caller lacks a scope this method requires",
                {"required_scopes": sorted(required), "missing_scopes": sorted(missing)},
            )
        return Identity(
            subject=verified.subject,
            kind="service",
            issuer=verified.issuer,
            scopes=verified.scopes,
            claims=verified.claims,
        )


def _outgoing(details: Any, tokens: _TokenCache | None) -> Any:
    from mic.client import propagation_headers

    metadata = list(details.metadata or ())
    present = {key for key, _ in metadata}
    if tokens is not None and "authorization" not in present:
        metadata.append(("authorization", f"Bearer {tokens.token()}"))
    metadata.extend((k, v) for k, v in propagation_headers().items() if k not in present)
    timeout = details.timeout
    remaining = remaining_time()
    if remaining is not None:
        # The RPC being served ends at its deadline: a nested call gets what is left of it.
        timeout = max(0.0, remaining) if timeout is None else min(timeout, max(0.0, remaining))
    return grpc.aio.ClientCallDetails(
        details.method, timeout, tuple(metadata), details.credentials, details.wait_for_ready
    )


class _UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, owner: ServiceAuthClientInterceptor) -> None:
        self.owner = owner

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self.owner.call_details(details), request)


class _UnaryStream(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, owner: ServiceAuthClientInterceptor) -> None:
        self.owner = owner

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self.owner.call_details(details), request)


class _StreamUnary(grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, owner: ServiceAuthClientInterceptor) -> None:
        self.owner = owner

    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self.owner.call_details(details), requests)


class _StreamStream(grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, owner: ServiceAuthClientInterceptor) -> None:
        self.owner = owner

    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self.owner.call_details(details), requests)


class ServiceAuthClientInterceptor:
    """Sign every call for `audience` with a cached token; propagate id, trace and deadline.

    Args:
        signer: Signs the tokens; ``None`` sends no token (propagation only).
        audience: The target service's name, as its verifier expects it.
        scopes: Scopes to ask for.

    The token is signed once and reused until shortly before it expires. grpcio files
    each client interceptor under one call kind, so `for_channel` gives one per kind:
    ``grpc.aio.insecure_channel(target, interceptors=interceptor.for_channel())``, or use
    `authenticated_channel`.
    """

    def __init__(
        self, signer: ServiceAuthSigner | None, audience: str, scopes: Iterable[str] = ()
    ) -> None:
        if signer is not None and not audience:
            raise ValueError("a signer needs the target's audience")
        self.tokens = (
            None if signer is None else _TokenCache(signer, audience, check_scopes(scopes))
        )

    def call_details(self, details: Any) -> Any:
        """`details` with the token, the propagation metadata and the remaining deadline."""
        return _outgoing(details, self.tokens)

    def for_channel(self) -> list[Any]:
        """The four grpcio client interceptors (one per call kind) that apply this one."""
        return [_UnaryUnary(self), _UnaryStream(self), _StreamUnary(self), _StreamStream(self)]


def authenticated_channel(
    target: str,
    *,
    signer: ServiceAuthSigner | None,
    audience: str,
    scopes: Iterable[str] = (),
    credentials: Any = None,
    options: Iterable[tuple[str, Any]] = (),
) -> Any:
    """A ``grpc.aio.Channel`` to `target` whose every call is signed for `audience`.

    Args:
        target: ``host:port``.
        signer: Signs the tokens (``None``: no token, propagation only).
        audience: The target service's name.
        scopes: Scopes to ask for.
        credentials: ``grpc.ssl_channel_credentials(...)`` for TLS; ``None`` is plaintext
            (loopback, or a mesh that encrypts).
        options: grpcio channel options.
    """
    interceptors = ServiceAuthClientInterceptor(signer, audience, scopes).for_channel()
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=list(options), interceptors=interceptors)
    return grpc.aio.secure_channel(
        target, credentials, options=list(options), interceptors=interceptors
    )

"""The interceptor contract: how a policy (auth, rate limit, idempotency...) wraps a route.

A `RouteInterceptor` is bound once per route when a router is built, with the router's
`HttpRouterConfig`; the callable it returns wraps every request of that route.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from mic.http._context import DEFAULT_MAX_BODY_SIZE, ClientDisconnectedError, HttpRequestContext
from mic.http._render import HttpResponse, render_internal_error, render_problem
from mic.model import DomainError

if TYPE_CHECKING:
    # Type-only: specs name their interceptors, interceptors bind to specs; at run time
    # `_specs` imports this module, never the other way round.
    from mic.http._specs import HttpRouteSpec

logger = logging.getLogger("mic.http")

T = TypeVar("T")
Endpoint = Callable[[HttpRequestContext], Awaitable[HttpResponse]]
Interceptor = Callable[[HttpRequestContext, Endpoint], Awaitable[HttpResponse]]


@dataclass(frozen=True, slots=True)
class SecurityRequirement:
    """How an interceptor asks callers to authenticate, for the OpenAPI document.

    Attributes:
        scheme_name: Key under ``components.securitySchemes``.
        scheme: The OpenAPI security scheme object.
        scopes: Scopes the route requires.
    """

    scheme_name: str
    scheme: Mapping[str, Any]
    scopes: tuple[str, ...] = ()


class RouteInterceptor(ABC):
    """A policy attached to a route (auth, rate limit, idempotency...), bound at build time.

    `bind` runs once per route when the router is built: it checks that what it needs is
    configured (fail closed: raise `RouteSpecError` otherwise) and returns the callable that
    wraps every request, or ``None`` when there is nothing to do at request time.
    """

    @abstractmethod
    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor | None:
        """Prepare the per-request callable for `route`."""

    def openapi_security(self) -> SecurityRequirement | None:
        """The security requirement this policy adds to the route's docs."""
        return None

    def openapi_errors(self) -> Mapping[int, str]:
        """Extra problem+json answers this policy may produce: status to description."""
        return {}


class Public(RouteInterceptor):
    """An explicit "no authentication" policy: `HttpRouteSpec(auth=Public())`.

    Only needed under a router whose `HttpRouterConfig.default_auth` protects every route
    that declares nothing: a route opts out by saying so, never by omission.
    """

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor | None:
        """Nothing to do at request time."""
        return None

    def __repr__(self) -> str:
        return "Public()"


@dataclass(frozen=True, slots=True)
class HttpRouterConfig:
    """What the routes of one router share.

    Attributes:
        services: Objects interceptors look up by type (a token verifier, a rate limiter...).
        interceptors: Interceptors applied to every route, outermost first.
        default_auth: The auth policy of every route whose `auth` is ``None`` (fail closed:
            a route is public under it only with ``auth=Public()``).
        max_body_size: Request body limit in bytes; a larger body is a 413.
    """

    services: Mapping[type[Any], Any] = field(default_factory=dict)
    interceptors: tuple[RouteInterceptor, ...] = ()
    default_auth: RouteInterceptor | None = None
    max_body_size: int = DEFAULT_MAX_BODY_SIZE

    def __post_init__(self) -> None:
        if self.max_body_size < 0:
            raise ValueError("max_body_size must be >= 0")
        for kind, service in self.services.items():
            if not isinstance(service, kind):
                raise TypeError(f"service {service!r} is not an instance of {kind.__name__}")

    def get(self, kind: Callable[..., T]) -> T | None:
        """The service registered for `kind`, or ``None``.

        `kind` is a class, abstract ones included (typed as a callable only because mypy
        refuses abstract classes where ``type[T]`` is expected).
        """
        found = self.services.get(cast("type[Any]", kind))
        return cast("T", found) if isinstance(found, cast("type[Any]", kind)) else None


def guarded(interceptor: Interceptor, call_next: Endpoint, route_name: str) -> Endpoint:
    """`call_next` behind `interceptor`; an interceptor's failure becomes a problem answer."""

    async def endpoint(context: HttpRequestContext) -> HttpResponse:
        try:
            return await interceptor(context, call_next)
        except DomainError as error:
            return render_problem(error)
        except ClientDisconnectedError:
            raise
        except Exception:
            logger.exception("unhandled error in an interceptor of route %s", route_name)
            return render_internal_error()

    return endpoint


class RequestCheck:
    """An `Interceptor` that only decides whether a request goes on.

    ``check(context)`` raises a `DomainError` to refuse the request and returns to let it
    through. Return one from `RouteInterceptor.bind` for decisions made in memory (RBAC,
    header rules): a compiled route runs it as a plain function call before the rest of the
    chain, where an interceptor costs a coroutine per request. It is an `Interceptor` too,
    so whatever runs interceptors generically (a WebSocket handshake) gets the same answer.

    Args:
        check: The synchronous decision; it must not block.
    """

    __slots__ = ("check",)

    def __init__(self, check: Callable[[HttpRequestContext], None]) -> None:
        self.check = check

    async def __call__(self, context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
        """Check, then hand the request on (the generic interceptor form)."""
        self.check(context)
        return await call_next(context)


async def _answer(response: HttpResponse) -> HttpResponse:
    return response


def checked(check: RequestCheck, call_next: Endpoint, route_name: str) -> Endpoint:
    """`call_next` behind `check`, answering as `guarded` does, with no coroutine of its own.

    The returned endpoint is a plain function returning `call_next`'s awaitable: a request
    that passes costs one call of `check`, not a frame on the await chain.
    """
    decide = check.check

    def endpoint(context: HttpRequestContext) -> Awaitable[HttpResponse]:
        try:
            decide(context)
        except DomainError as error:
            return _answer(render_problem(error))
        except Exception:
            logger.exception("unhandled error in a request check of route %s", route_name)
            return _answer(render_internal_error())
        return call_next(context)

    return endpoint

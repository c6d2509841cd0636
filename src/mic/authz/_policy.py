"""`Authorize`: the route policy that asks an `AuthorizationEngine` after authentication.

Put it in ``HttpRouteSpec(interceptors=(Authorize("read", "item:{item_id}"),))``: the
route's auth policy has already set ``context.identity`` when it runs. A denial is a 403
that names no policy internals; an engine that fails or times out denies too, as a 503
(fail closed), and is logged and counted.
"""

from __future__ import annotations

import asyncio
import logging
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from mic.authz._engine import AuthorizationEngine, AuthorizationEngineError, Resource
from mic.authz._rbac import RbacEngine
from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Identity,
    Interceptor,
    Public,
    RequestCheck,
    RouteInterceptor,
    RouteSpecError,
)
from mic.model import ForbiddenError, TransientError, UnauthorizedError

logger = logging.getLogger("mic.authz")

T = TypeVar("T")

ResourceOf = Callable[[HttpRequestContext], Resource]
"""Builds the resource of a request: ``(context) -> Resource``."""


@dataclass(slots=True)
class AuthorizationStats:
    """Decisions taken by one `Authorize` policy since it was created.

    Attributes:
        allowed: Requests let through.
        denied: Requests refused with a 403.
        errors: Requests refused because the engine failed or timed out (503).
    """

    allowed: int = 0
    denied: int = 0
    errors: int = 0


def _template_resource(template: str, route: HttpRouteSpec) -> ResourceOf:
    resource_type, _, id_template = template.partition(":")
    if not resource_type:
        raise RouteSpecError(f"route {route.name!r}: resource {template!r} needs a type")
    fields = [f for _, f, _, _ in string.Formatter().parse(id_template) if f is not None]
    path_params = {p for _, p, _, _ in string.Formatter().parse(route.path) if p}
    if missing := [f for f in fields if f not in path_params]:
        raise RouteSpecError(
            f"route {route.name!r}: resource {template!r} uses {missing}, "
            "which are not path parameters"
        )
    if not id_template:
        fixed = Resource(resource_type)
        return lambda context: fixed
    return lambda context: Resource(resource_type, id_template.format_map(context.path_params))


def _forbidden() -> ForbiddenError:
    # The same words whatever the engine or rule: a 403 never explains the policy.
    return ForbiddenError("forbidden", "You are not allowed to perform this action")


def _route_is_authenticated(route: HttpRouteSpec, config: HttpRouterConfig) -> bool:
    auth = route.auth if route.auth is not None else config.default_auth
    return auth is not None and not isinstance(auth, Public)


class Authorize(RouteInterceptor):
    """The caller may use the route only if the engine allows `action` on the resource.

    Args:
        action: What the route does (``"read"``, ``"items:write"``, an OpenFGA relation).
        resource: ``"type"``, ``"type:{path_param}"`` (the id from the path), or a callable
            ``(context) -> Resource``.
        engine: The engine; by default the one registered in
            ``HttpRouterConfig(services={AuthorizationEngine: engine})``.
        timeout: Seconds the engine may take before the request is refused (503).

    Raises:
        ValueError: An empty action or a non-positive timeout.

    Binding refuses a route without authentication (`RouteSpecError`): there would be no
    subject to authorize.
    """

    def __init__(
        self,
        action: str,
        resource: str | ResourceOf,
        *,
        engine: AuthorizationEngine | None = None,
        timeout: float = 2.0,
    ) -> None:
        if not action or not isinstance(action, str):
            raise ValueError("action must be a non-empty string")
        if not 0 < timeout < 3600:
            raise ValueError(f"timeout must be in (0, 3600) seconds, got {timeout!r}")
        self.action = action
        self.resource = resource
        self.engine = engine
        self.timeout = timeout
        self.stats = AuthorizationStats()

    def __repr__(self) -> str:
        return f"Authorize({self.action!r}, {self.resource!r})"

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor | RequestCheck:
        """Resolve the engine and the resource builder; return the request check.

        Raises:
            RouteSpecError: No engine, a route without authentication, or a resource
                template naming an unknown path parameter.
        """
        engine = self.engine or config.get(AuthorizationEngine)
        if engine is None:
            raise RouteSpecError(
                f"route {route.name!r} requires authorization, but HttpRouterConfig.services "
                "has no AuthorizationEngine (services={AuthorizationEngine: engine})"
            )
        if not _route_is_authenticated(route, config):
            raise RouteSpecError(
                f"route {route.name!r} has Authorize but no auth policy: there is no caller "
                "to authorize"
            )
        resource_of = (
            _template_resource(self.resource, route)
            if isinstance(self.resource, str)
            else self.resource
        )
        if isinstance(engine, RbacEngine) and isinstance(self.resource, str):
            # RBAC decides on the resource type alone, in memory: ask it synchronously,
            # without building a Resource or arming a timeout (benchmarks/bench_policies.py).
            return self._bind_rbac(engine, self.resource.partition(":")[0])
        action, timeout, stats, name = self.action, self.timeout, self.stats, route.name

        async def authorize(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
            identity = context.identity
            if identity is None:
                raise UnauthorizedError("unauthorized", "This route needs authentication")
            try:
                async with asyncio.timeout(timeout):
                    allowed = await engine.check(identity, action, resource_of(context))
            except (AuthorizationEngineError, TimeoutError) as error:
                stats.errors += 1
                logger.warning(
                    "authorization engine %r failed on route %s: %s",
                    engine,
                    name,
                    error or type(error).__name__,
                )
                raise TransientError(
                    "authorization_unavailable",
                    "Authorization is temporarily unavailable; try again later",
                    retry_after=1,
                ) from None
            if not allowed:
                stats.denied += 1
                raise _forbidden()
            stats.allowed += 1
            return await call_next(context)

        return authorize

    def _bind_rbac(self, engine: RbacEngine, resource_type: str) -> RequestCheck:
        # The roles that grant this route, found once; a request only intersects sets. An
        # in-memory decision: a `RequestCheck`, a plain call per request, not a coroutine.
        # `RbacEngine.membership`'s test is written out here rather than called: one call
        # less on every authorized request (benchmarks/bench_policies.py, goal <= 1.1x).
        roles = engine.granting(self.action, resource_type)
        assignments, claim = engine.assignments, engine.roles_claim
        allows, action, stats = engine.allows, self.action, self.stats

        def authorize(context: HttpRequestContext) -> None:
            identity = context.identity
            if identity is None:
                raise UnauthorizedError("unauthorized", "This route needs authentication")
            assigned = assignments.get(identity.subject)
            if assigned is not None and not roles.isdisjoint(assigned):
                stats.allowed += 1
                return
            claimed = identity.claims.get(claim) if claim is not None else None
            try:
                # Only strings in a list or tuple name roles; a non-string never matches.
                held = isinstance(claimed, (list, tuple)) and not roles.isdisjoint(claimed)
            except TypeError:  # an unhashable element (a nested object) in a hostile claim
                held = False
            # `allows` on the (rarer) denial path logs unknown roles; it never grants more.
            if not held and not allows(identity, action, resource_type):
                stats.denied += 1
                raise _forbidden()
            stats.allowed += 1

        return RequestCheck(authorize)

    def openapi_errors(self) -> Mapping[int, str]:
        """403 when the engine denies; 503 when it cannot decide."""
        return {
            403: "The caller is not allowed to perform this action",
            503: "Authorization is temporarily unavailable",
        }


async def filter_authorized(
    engine: AuthorizationEngine,
    subject: Identity,
    action: str,
    items: Iterable[T],
    resource_of: Callable[[T], Resource],
) -> list[T]:
    """The `items` `subject` may perform `action` on, in order (one batch check).

    Raises:
        AuthorizationEngineError: The engine could not decide (nothing is returned: fail
            closed).
    """
    kept: Sequence[T] = list(items)
    decisions = await engine.check_many(subject, action, [resource_of(i) for i in kept])
    return [item for item, allowed in zip(kept, decisions, strict=True) if allowed]

"""The fast lane: mic paths answered inside FastAPI's middleware stack, past its router.

Once an app's middleware stack exists, a `Lane` layer answers an HTTP request for a mic path
by calling the path's method table, exactly where FastAPI's routing would have sent it, and
passes everything else on unchanged (ADR 0071). It stays off for an app whose routing it
cannot reproduce exactly.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.routing import APIRoute, APIRouter, APIWebSocketRoute
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from mic.http import CompiledRouter, PathTarget

logger = logging.getLogger("mic.fastapi")

# FastAPI internals the lane reads; on a FastAPI without them the lane is off (ADR 0071).
try:
    from fastapi.routing import _EffectiveRouteContext, _IncludedRouter
except ImportError:  # pragma: no cover - FastAPI < 0.160 copies included routes
    _IncludedRouter = _EffectiveRouteContext = None  # type: ignore[assignment,misc]
try:
    from fastapi._body_limit import AppBodyLimitMiddleware
except ImportError:  # pragma: no cover - FastAPI without app-wide body limits
    AppBodyLimitMiddleware = None  # type: ignore[assignment,misc]
try:
    from fastapi.telemetry._api import _route_selected
    from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware
except ImportError:  # pragma: no cover - FastAPI without native telemetry
    _route_selected = None  # type: ignore[assignment]
    ExceptionTelemetryMiddleware = None  # type: ignore[assignment,misc]

# How many middleware layers the placement walk follows before giving up.
_MAX_LAYERS = 64
# A segment Starlette and the compiled router read alike: a literal or a whole placeholder.
_REGULAR_SEGMENT = re.compile(r"[^{}]*|\{[A-Za-z_][A-Za-z0-9_]*\}")
# A path ending in a newline: Starlette's expressions (ending in ``$``) accept one after any
# path they match, the compiled router only inside a placeholder's segment.
_NEWLINE_ENDED = re.compile(r".*\n\Z", re.DOTALL)

Found = tuple[PathTarget, dict[str, str]]


def match_under(compiled: CompiledRouter, prefix: str, path: str) -> Found | None:
    """The mic target for a route path under an include `prefix`, as both paths look it up."""
    if prefix:
        if not path.startswith(prefix):
            return None
        path = path[len(prefix) :] or "/"
    return compiled.match(path)


def record_route(scope: Scope, template: str) -> None:
    """Tell FastAPI's native telemetry (when on for this request) which route answered."""
    if scope.get("fastapi.telemetry") is not None and _route_selected is not None:
        _route_selected(scope=scope, path=template)


class _UnsupportedRoutingError(Exception):
    """The app's routing holds something the lane cannot reproduce exactly."""


# One mic inclusion, with the routes FastAPI tries before it: the static paths and the
# regular expressions (templated routes, mounts) of those routes (a request they match takes
# the slow path), the inclusion's compiled router, its include prefix (combined, for nested
# inclusions) and whether it carries a FastAPI dependency (ADR 0063: never served here).
MicStep = tuple[frozenset[str], tuple[re.Pattern[str], ...], CompiledRouter, str, bool]


class _Planner:
    """Flattens the app's routes, in FastAPI's order, into `MicStep`s."""

    def __init__(self, is_mounted: Callable[[Any], bool]) -> None:
        self.is_mounted = is_mounted
        self.steps: list[MicStep] = []
        # Included routers whose routes come before some mic inclusion: a route added to
        # one later can take a mic path. (The app's own router only ever appends, after
        # every inclusion; the last mic router is followed by no other mic inclusion.)
        self.watched: list[APIRouter] = []
        self.blocked = ""  # why FastAPI's matching cannot be reproduced from here on
        self._static: set[str] = set()
        self._patterns: list[re.Pattern[str]] = []

    def add_routes(self, routes: Iterable[Any]) -> None:
        for route in routes:
            self.add(route)

    def add(self, route: Any) -> None:
        if _IncludedRouter is not None and type(route) is _IncludedRouter:
            self._add_included(route)
        elif _EffectiveRouteContext is not None and type(route) is _EffectiveRouteContext:
            original = route.original_route
            if isinstance(original, APIRoute) and type(original).matches is APIRoute.matches:
                self._shadow(route)
            elif route.starlette_route is not None:
                self.add(route.starlette_route)
            else:
                self._block(f"route {original!r}")
        else:
            self._add_route(route)

    def _add_route(self, route: Any) -> None:
        matches = getattr(type(route), "matches", None)
        if matches in (WebSocketRoute.matches, APIWebSocketRoute.matches):
            return  # never matches an HTTP request
        if matches in (Route.matches, APIRoute.matches):
            self._shadow(route)
        elif matches is Mount.matches:
            self._patterns.append(route.path_regex)
        else:
            self._block(f"route {route!r}")

    def _block(self, reason: str) -> None:
        # Harmless after the last mic inclusion: no mic path gets that far.
        self.blocked = self.blocked or reason

    def _shadow(self, route: Any) -> None:
        # A route without placeholders matches its own path and that path plus a newline
        # (Starlette's expression ends in ``$``, which accepts one): a set does for it.
        if route.param_convertors:
            self._patterns.append(route.path_regex)
        else:
            self._static.update((route.path_format, route.path_format + "\n"))

    def _add_included(self, included: Any) -> None:
        original = included.original_router
        if self.is_mounted(original):
            if self.blocked:
                raise _UnsupportedRoutingError(f"{self.blocked} comes before a mic router")
            prefix, refused = original.inclusion(included)
            shadows = frozenset(self._static), tuple(self._patterns)
            self.steps.append((*shadows, original.mic_router, prefix, refused))
            self.watched.append(original)
            # FastAPI tries the mic router's own routes before later routes when the
            # compiled router does not answer: a templated mic path needs nothing more (the
            # trie answers whatever its expression matches, but for a path plus a newline
            # where the template ends in a literal or a slash: those take the slow path);
            # anything else is a shadow.
            for candidate in included.effective_candidates():
                path = getattr(getattr(candidate, "original_route", None), "path", None)
                templated = isinstance(path, str) and "{" in path and _regular(path)
                if not (templated and original.mic_router.match(path) is not None):
                    self.add(candidate)
                elif _NEWLINE_ENDED not in self._patterns:
                    self._patterns.append(_NEWLINE_ENDED)
        elif type(original).matches is APIRouter.matches:
            self.watched.append(original)
            self.add_routes(included.effective_candidates())
        else:
            self._block(f"router {original!r}")


def _regular(path: str) -> bool:
    return all(_REGULAR_SEGMENT.fullmatch(segment) for segment in path.split("/"))


class Plan:
    """The lane's steps, and the routers (with their route versions) it was planned from."""

    __slots__ = ("steps", "versions")

    def __init__(self, steps: list[MicStep], versions: tuple[tuple[Any, int], ...]) -> None:
        self.steps = steps
        self.versions = versions


def plan_routes(app: FastAPI, is_mounted: Callable[[Any], bool]) -> Plan | None:
    """The lane's plan for `app`, or ``None`` when the lane must stay off."""
    if _IncludedRouter is None or not hasattr(app.router, "_routes_version"):
        return None  # pragma: no cover - FastAPI versions that copy included routes
    planner = _Planner(is_mounted)
    try:
        planner.add_routes(app.router.routes)
    except _UnsupportedRoutingError as reason:
        logger.debug("mic fast lane off: %s", reason)
        return None
    if not planner.steps:
        return None
    # The last mic router needs no watching: no mic inclusion follows it. Unless it is
    # included more than once: a route added to it later comes before its last inclusion.
    last = planner.steps[-1][2]
    once = sum(step[2] is last for step in planner.steps) == 1
    watched = [
        router
        for router in planner.watched
        if not once or getattr(router, "mic_router", None) is not last
    ]
    versions = tuple((router, router._routes_version) for router in watched)
    return Plan(planner.steps, versions)


class Lane:
    """The ASGI layer answering mic paths; anything else goes to `app`, the layer it replaced.

    Attributes:
        app: The layer the lane was put in front of (FastAPI's stack or its exception layer).
    """

    def __init__(
        self, app: ASGIApp, fastapi_app: FastAPI, plan: Plan, is_mounted: Callable[[Any], bool]
    ) -> None:
        self.app = app
        self._fastapi_app = weakref.ref(fastapi_app)
        self._plan: Plan | None = plan
        self._is_mounted = is_mounted

    def _replan(self) -> Plan | None:
        fastapi_app = self._fastapi_app()
        self._plan = None if fastapi_app is None else plan_routes(fastapi_app, self._is_mounted)
        return self._plan

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:  # noqa: PLR0912
        """Serve a mic path through its method table; pass anything else on.

        A plain function returning the awaitable of the app it picks: every caller awaits
        an ASGI app's result, and one coroutine less runs per request.
        """
        plan = self._plan
        if plan is not None and scope["type"] == "http":
            # Written out rather than split into helpers: this runs on every request.
            if plan.versions:
                for router, version in plan.versions:
                    if router._routes_version != version:
                        plan = self._replan()
                        break
            path = scope["path"]
            root_path = scope.get("root_path")
            if root_path and path.startswith(root_path):  # Starlette's get_route_path
                if path == root_path:
                    path = ""
                elif path[len(root_path)] == "/":
                    path = path[len(root_path) :]
            if plan is not None:
                for static, patterns, compiled, prefix, refused in plan.steps:
                    if path in static:
                        break
                    if patterns and any(pattern.match(path) for pattern in patterns):
                        break
                    if not prefix:  # `match_under`, written out
                        found = compiled.match(path)
                    elif path.startswith(prefix):
                        found = compiled.match(path[len(prefix) :] or "/")
                    else:
                        continue
                    if found is not None:
                        if refused:
                            break
                        target, params = found
                        if "fastapi.telemetry" in scope:
                            record_route(scope, prefix + target.path)
                        scope["path_params"] = params
                        return target.methods.get(scope["method"], target.not_allowed)(
                            scope, receive, send
                        )
        return self.app(scope, receive, send)


_decided: weakref.WeakKeyDictionary[FastAPI, Any] = weakref.WeakKeyDictionary()


def ensure_lane(app: Any, is_mounted: Callable[[Any], bool]) -> None:
    """Put the lane into `app`'s built middleware stack, once per stack (or decide not to).

    Cheap once decided: the slow path calls it on every mic request it serves.
    """
    if not isinstance(app, FastAPI):
        return
    stack = app.middleware_stack
    if stack is None or _decided.get(app) is stack:
        return
    plan = plan_routes(app, is_mounted)
    placement = _placement(app) if plan is not None else None
    if plan is not None and placement is not None:
        holder, replaced = placement
        lane = Lane(replaced, app, plan, is_mounted)
        if holder is None:
            app.middleware_stack = lane
        else:
            holder.app = lane
    _decided[app] = app.middleware_stack


def lane_of(app: FastAPI) -> Lane | None:
    """The lane installed in `app`'s stack, if any (for tests and debugging)."""
    layer: Any = app.middleware_stack
    for _ in range(_MAX_LAYERS):
        if layer is None or isinstance(layer, Lane):
            return layer
        layer = getattr(layer, "app", None)
    return None  # pragma: no cover - a stack deeper than the walk


def _passes_through(layer: Any) -> bool:
    """FastAPI's own outer layers, which change nothing for a route that never raises."""
    if type(layer) is ServerErrorMiddleware:
        return True
    if ExceptionTelemetryMiddleware is not None and type(layer) is ExceptionTelemetryMiddleware:
        return True
    return (
        AppBodyLimitMiddleware is not None
        and type(layer) is AppBodyLimitMiddleware
        and type(layer.app) is not RequestBodyLimitMiddleware
    )


def _placement(app: FastAPI) -> tuple[Any, ASGIApp] | None:
    """Where the lane goes: (the layer whose `app` it replaces, or ``None`` for the whole
    stack; what it passes other requests to). ``None`` when the stack cannot be walked.
    """
    above: list[Any] = []
    layer: Any = app.middleware_stack
    for _ in range(_MAX_LAYERS):
        if type(layer) is ExceptionMiddleware:
            inner = getattr(layer, "app", None)
            if type(inner) is not AsyncExitStackMiddleware or inner.app is not app.router:
                return None  # pragma: no cover - a stack FastAPI does not build
            if all(_passes_through(above_layer) for above_layer in above):
                return None, above[0] if above else layer
            return above[-1], layer
        if isinstance(layer, Lane):
            return None
        above.append(layer)
        layer = getattr(layer, "app", None)
        if layer is None:
            logger.debug("mic fast lane off: %r has no app attribute", above[-1])
            return None
    return None  # pragma: no cover - a stack deeper than the walk

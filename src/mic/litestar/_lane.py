"""The short path of a request to a mic route through a Litestar app (ADR 0070, ADR 0072).

Litestar still decides where every request goes; what it would recompute per request for a
mic handler (the path normalization, the host check of a known host, the merged exception
handlers, the route and handler between the router and mic's ASGI app) is done once and
kept. Everything else takes Litestar's own path.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from litestar._asgi.asgi_router import ASGIRouter
from litestar._asgi.utils import is_valid_host
from litestar.routes import HTTPRoute
from litestar.utils import normalize_path
from litestar.utils.scope.state import CONNECTION_STATE_KEY as _STATE_KEY
from litestar.utils.scope.state import ScopeState

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import (
        ASGIApp,
        ExceptionHandlersMap,
        Method,
        Receive,
        RouteHandlerType,
        Send,
    )

    # What a mic request needs set before its answer runs: the answer (mic's ASGI app, or
    # the route's middleware stack), the handler, the routed path, its parameters, the
    # path template and the exception handlers of the handler's layers.
    Target = tuple[ASGIApp, RouteHandlerType, str, dict[str, Any], str, ExceptionHandlersMap]

# Valid Host values remembered by every app; the header is the client's, so the set stops
# growing here and further hosts are checked on each request, as Litestar does.
KNOWN_HOSTS_LIMIT = 64
# Distinct (path, root path, method) routings remembered per app, as Litestar's own cache.
ROUTINGS_LIMIT = 1024

_known_hosts: set[bytes] = set()
# Read-only stand-in for a scope without "state" (Litestar's app always sets one).
_NO_STATE: dict[str, Any] = {}


class MountedRoute(HTTPRoute):
    """A Litestar route (one path) whose every handler is mic's: no Litestar request layer.

    Litestar has routed by path already (its trie, with the route's middleware stack
    around this call); the method table is mic's, so no `Request`, kwargs model or
    `to_response` is built per request (ADR 0070).
    """

    __slots__ = ()

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        """Hand the request to the mic answer registered for its method."""
        handler = self.route_handler_map[scope["method"]][0]
        await mic_app_of(handler)(scope, receive, send)


def mic_app_of(handler: Any) -> Any:
    """The mic ASGI app answering for `handler`, or ``None`` for another framework handler.

    It sits on the handler's function: Litestar deep-copies handlers (and what they hold)
    when a router is nested, functions are copied by reference.
    """
    return getattr(handler.fn, "mic_app", None)


class MicASGIRouter(ASGIRouter):
    """Litestar's router, with the work it repeats for a mic handler done once (ADR 0072).

    Routing itself stays Litestar's (its cached `handle_routing`): a request is served
    here only when Litestar routes it to a mic handler and its Host header is valid;
    every other request (another handler, a mount, a 404 or 405, an invalid host, a
    WebSocket) goes through `ASGIRouter.__call__` unchanged. Each app gets its own
    subclass, holding that app's routing cache (`ASGIRouter` has slots, no room for it).
    """

    __slots__ = ()

    # The app's `_route`, cached: (path, root path, method) -> target.
    _targets: ClassVar[Any]

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        """ASGI callable: a mic target as Litestar would route it, else Litestar's own call."""
        target: Target | None = None
        if scope["type"] == "http":
            try:
                target = self._targets(scope["path"], scope.get("root_path", ""), scope["method"])
            except Exception:
                if _valid_host(scope):
                    # What `ASGIRouter.__call__` does when routing fails (a 404, a 405): its
                    # exception, once, answered through the app's exception handlers.
                    scope.setdefault("path_params", {})
                    ScopeState.from_scope(scope).exception_handlers = self._app_exception_handlers
                    raise
        if target is None or not _valid_host(scope):
            await super().__call__(scope, receive, send)
            return
        answer, handler, path, path_params, template, exception_handlers = target
        # The keys and state Litestar's router sets for a routed request.
        scope["path"] = path
        scope["path_params"] = path_params
        state = scope.get("state", _NO_STATE).get(_STATE_KEY) or ScopeState.from_scope(scope)
        state.exception_handlers = exception_handlers
        scope["route_handler"] = handler
        scope["path_template"] = template
        await answer(scope, receive, send)

    def _route(self, path: str, root_path: str, method: Method) -> Target | None:
        """Litestar's routing of one request, and what its router would set around it."""
        if root_path:
            path = path.split(root_path, maxsplit=1)[-1]
        asgi_app, handler, routed, path_params, template = self.handle_routing(
            path=normalize_path(path), method=method
        )
        mic_app = mic_app_of(handler)
        if mic_app is None:
            return None
        answer: ASGIApp = asgi_app
        route = getattr(asgi_app, "__self__", None)
        if isinstance(route, MountedRoute) and asgi_app == route.handle:
            answer = mic_app  # no route middleware: what `MountedRoute.handle` would call
        return answer, handler, routed, path_params, template, _exception_handlers(handler)


def _valid_host(scope: Any) -> bool:
    """Whether the request's first Host header, if any, is valid (else Litestar answers 400)."""
    for name, value in scope.get("headers", ()):
        if name == b"host":
            if value in _known_hosts:
                return True
            if not is_valid_host(value):
                return False
            if len(_known_hosts) < KNOWN_HOSTS_LIMIT:
                _known_hosts.add(value)
            return True
    return True


def _exception_handlers(handler: RouteHandlerType) -> ExceptionHandlersMap:
    """The handler's exception handlers, the closest layer first, as Litestar resolves them.

    A view, not a copy: what a layer holds when an exception is handled applies, as
    Litestar resolves them on each request (handlers added or replaced later included).
    """
    return _LayeredHandlers(tuple(reversed(handler.ownership_layers)))  # type: ignore[return-value]


class _LayeredHandlers(Mapping[Any, Any]):
    """The exception handlers of layers (the closest first), read when they are looked up.

    Litestar reads them only when an exception is handled: nothing here runs per request.
    """

    __slots__ = ("_layers",)

    def __init__(self, layers: tuple[Any, ...]) -> None:
        self._layers = layers

    def _current(self) -> ChainMap[Any, Any]:
        # Each layer's attribute read now: a layer may have been given a new mapping.
        owned = (layer.exception_handlers for layer in self._layers)
        return ChainMap(*(handlers for handlers in owned if handlers is not None))

    def __getitem__(self, key: Any) -> Any:
        return self._current()[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


def install(app: Litestar) -> None:
    """Give `app` a `MicASGIRouter` (once; a router of another class is left alone)."""
    router = app.asgi_router
    if type(router) is not ASGIRouter:
        return
    lane = type("MicASGIRouter", (MicASGIRouter,), {"__slots__": ()})
    router.__class__ = lane
    lane._targets = staticmethod(lru_cache(ROUTINGS_LIMIT)(router._route))  # type: ignore[attr-defined]

"""Litestar adapter for `mic.realtime`: each compiled WebSocket route is an ASGI route handler.

Litestar only routes to the route's `CompiledWebSocketRoute`, which does the handshake, auth,
frames and close codes itself, exactly as on FastAPI (ADR 0093).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Router
from litestar.handlers import ASGIRouteHandler, asgi

from mic.http import HttpRouterConfig
from mic.realtime import CompiledWebSocketRoute, WebSocketRouteSpec, compile_websocket_routes


def _handler(route: CompiledWebSocketRoute) -> ASGIRouteHandler:
    async def serve(scope: Any, receive: Any, send: Any) -> None:
        await route(scope, receive, send)

    # Placeholders are plain strings for Litestar; the route converts them to their types.
    path = route.path.replace("}", ":str}")
    # We never mutate the scope; copying it per connection would only cost time.
    return asgi(path=path, name=route.spec.name, copy_scope=False)(serve)


def build_litestar_realtime_router(
    *,
    routes: Sequence[WebSocketRouteSpec],
    config: HttpRouterConfig | None = None,
    prefix: str = "",
) -> Router:
    """A Litestar `Router` serving WebSocket `routes`, for ``Litestar(route_handlers=[...])``.

    A plain HTTP request to a WebSocket path gets a 426 problem, as on FastAPI.

    Raises:
        RouteSpecError: A route cannot be served (no `RealtimeHub` service, a policy whose
            dependency is not configured, two routes on one path...).
    """
    handlers = [_handler(route) for route in compile_websocket_routes(routes, config, prefix)]
    return Router(path="/", route_handlers=handlers)

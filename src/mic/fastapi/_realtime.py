"""FastAPI adapter for `mic.realtime`: each compiled WebSocket route is mounted as an ASGI app.

Starlette only routes to the route's `CompiledWebSocketRoute`, which does the handshake,
auth, frames and close codes itself, exactly as on Litestar (ADR 0093).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from starlette.routing import Route, WebSocketRoute

from mic.http import HttpRouterConfig
from mic.realtime import WebSocketRouteSpec, compile_websocket_routes


def build_fastapi_realtime_router(
    *,
    routes: Sequence[WebSocketRouteSpec],
    config: HttpRouterConfig | None = None,
    prefix: str = "",
) -> APIRouter:
    """An `APIRouter` serving WebSocket `routes`, ready for `app.include_router(...)`.

    A plain HTTP request to a WebSocket path gets a 426 problem, as on Litestar.

    Raises:
        RouteSpecError: A route cannot be served (no `RealtimeHub` service, a policy whose
            dependency is not configured, two routes on one path...).
    """
    router = APIRouter()
    for route in compile_websocket_routes(routes, config, prefix):
        app: Any = route  # an ASGI app: Starlette hands it the raw scope, receive and send
        router.routes.append(WebSocketRoute(route.path, app, name=route.spec.name))
        router.routes.append(Route(route.path, app, include_in_schema=False))
    return router

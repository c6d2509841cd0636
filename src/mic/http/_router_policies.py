"""Router-level policies around the core's own answers (OPTIONS and 405).

The router's interceptors (`HttpRouterConfig.interceptors`: security headers, CORS, CSRF,
metrics...) wrap every route; this module makes them wrap the answers the core gives for a
path itself, too, so a CORS preflight is answered by the CORS policy and a 405 carries the
security headers, on every adapter alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from mic.http._context import ClientDisconnectedError, HttpRequestContext
from mic.http._render import HttpResponse

if TYPE_CHECKING:
    from mic.http._pipeline import CompiledRoute, Endpoint

Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class RouterPolicyApp:
    """ASGI app: the router-level interceptors of `route`'s router around a fixed answer.

    Args:
        answer: The core's answer for the path (a 204 with ``Allow``, a 405 problem...).
        route: A route of the same path and router: its router's interceptors are bound to
            it (the answer is about that path).
    """

    def __init__(self, answer: HttpResponse, route: CompiledRoute) -> None:
        # Imported here: the pipeline imports this module (the one guard for every chain).
        from mic.http._pipeline import _guarded

        self.answer = answer
        self.route = route

        async def fixed(context: HttpRequestContext) -> HttpResponse:
            # A fresh header list: interceptors append to it.
            return HttpResponse(answer.status_code, list(answer.headers), answer.body)

        endpoint: Endpoint = fixed
        for policy in reversed(route.config.interceptors):
            bound = policy.bind(route.spec, route.config)
            if bound is not None:
                endpoint = _guarded(bound, endpoint, route.spec.name)
        self._endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request (ASGI)."""
        context = HttpRequestContext.from_asgi(
            scope,
            receive,
            route_name=self.route.spec.name,
            route_path=self.route.path,
            max_body_size=self.route.max_body_size,
        )
        try:
            response = await self._endpoint(context)
        except ClientDisconnectedError:
            return
        start = {"type": "http.response.start", "status": response.status_code}
        await send({**start, "headers": response.headers})
        body = b"" if scope["method"] == "HEAD" else response.body
        await send({"type": "http.response.body", "body": body})

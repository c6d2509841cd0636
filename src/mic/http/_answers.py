"""Answers that need no handler: HEAD, OPTIONS, 405, and the framework's unrouted 404/405.

Every adapter serves these from here, so they answer the same bytes on every framework, and
pass through the router's app-wide interceptors like any route's answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mic.http._context import HttpRequestContext
from mic.http._interceptors import Endpoint, HttpRouterConfig, guarded
from mic.http._render import HttpResponse, render_status_problem
from mic.http._route import CompiledRoute, Receive, Scope, Send
from mic.http._specs import HTTP_METHODS, HttpRouteSpec

AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def allowed_methods(routes: tuple[CompiledRoute, ...], path: str) -> tuple[str, ...]:
    """Methods answered on `path` (HEAD with GET, and OPTIONS always), sorted, for `Allow`."""
    methods = {m for r in routes if r.path == path for m in r.spec.methods}
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return tuple(sorted(methods))


class _FixedAnswerApp:
    """ASGI app sending one precomputed answer, through the app-wide interceptors if given."""

    def __init__(
        self, response: HttpResponse, responder: UnroutedResponder | None, route_path: str
    ) -> None:
        self._response = response
        self._responder = responder
        self._route_path = route_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the answer (no body for HEAD)."""
        response = self._response
        if self._responder is not None:
            response = await self._responder.respond(scope, receive, response, self._route_path)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.headers,
            }
        )
        body = b"" if scope["method"] == "HEAD" else response.body
        await send({"type": "http.response.body", "body": body})


class OptionsApp(_FixedAnswerApp):
    """ASGI app answering OPTIONS with 204 and `Allow` (RFC 9110 section 9.3.7)."""

    def __init__(
        self,
        allow: tuple[str, ...],
        responder: UnroutedResponder | None = None,
        route_path: str = "",
    ) -> None:
        self.allow = allow
        answer = HttpResponse(204, [(b"allow", ", ".join(allow).encode())], b"")
        super().__init__(answer, responder, route_path)


class MethodNotAllowedApp(_FixedAnswerApp):
    """ASGI app answering 405 problem+json with the path's exact `Allow` header."""

    def __init__(
        self,
        allow: tuple[str, ...],
        responder: UnroutedResponder | None = None,
        route_path: str = "",
    ) -> None:
        self.allow = allow
        answer = render_status_problem(
            405,
            "The method is not allowed on this resource",
            [(b"allow", ", ".join(allow).encode())],
        )
        super().__init__(answer, responder, route_path)


@dataclass(frozen=True, slots=True)
class ExtraEndpoint:
    """An undocumented endpoint every adapter registers beside the routes."""

    path: str
    methods: tuple[str, ...]
    app: AsgiApp


def extra_endpoints(
    routes: tuple[CompiledRoute, ...], responder: UnroutedResponder | None = None
) -> list[ExtraEndpoint]:
    """Per path: HEAD for GET routes, OPTIONS, and a 405 for every other method.

    Registering these in every adapter makes HEAD, OPTIONS and 405 (with the exact `Allow`
    header) answer the same on every framework, even on an app built without mic's helpers.
    OPTIONS and 405 answers pass through `responder` (the app-wide interceptors).
    """
    extras: list[ExtraEndpoint] = []
    for path in dict.fromkeys(r.path for r in routes):
        allow = allowed_methods(routes, path)
        declared = {m for r in routes if r.path == path for m in r.spec.methods}
        heads = [r for r in routes if r.path == path and r.answers_head]
        extras.extend(ExtraEndpoint(path, ("HEAD",), r) for r in heads)
        if "OPTIONS" not in declared:
            extras.append(ExtraEndpoint(path, ("OPTIONS",), OptionsApp(allow, responder, path)))
        if others := tuple(sorted((HTTP_METHODS | {"TRACE"}) - set(allow))):
            not_allowed = MethodNotAllowedApp(allow, responder, path)
            extras.append(ExtraEndpoint(path, others, not_allowed))
    return extras


def static_endpoints(path: str, app: AsgiApp) -> list[ExtraEndpoint]:
    """`app` on GET and HEAD at `path`, with the path's OPTIONS and 405 answers."""
    allow = ("GET", "HEAD", "OPTIONS")
    others = tuple(sorted((HTTP_METHODS | {"TRACE"}) - set(allow)))
    return [
        ExtraEndpoint(path, ("GET", "HEAD"), app),
        ExtraEndpoint(path, ("OPTIONS",), OptionsApp(allow)),
        ExtraEndpoint(path, others, MethodNotAllowedApp(allow)),
    ]


def _unrouted_handler() -> None:
    """Never called: the unrouted pipeline answers the framework's 404 or 405."""


class UnroutedResponder:
    """Answers a request no route serves (404, 405) through the app-wide interceptors.

    So an unknown path still gets its correlation id, its metrics and anything else the
    router's `HttpRouterConfig.interceptors` add, on every framework.
    """

    def __init__(self, config: HttpRouterConfig | None = None) -> None:
        config = config or HttpRouterConfig()
        spec = HttpRouteSpec(
            method=tuple(sorted(HTTP_METHODS)),
            path="/",
            name="mic.unrouted",
            category="",
            handler=_unrouted_handler,
            include_in_schema=False,
        )
        endpoint: Endpoint = self._answer
        for policy in reversed(config.interceptors):
            bound = policy.bind(spec, config)
            if bound is not None:
                endpoint = guarded(bound, endpoint, spec.name)
        self._endpoint = endpoint

    @staticmethod
    async def _answer(context: HttpRequestContext) -> HttpResponse:
        response: HttpResponse = context.state["mic.unrouted"]
        return response

    async def respond(
        self, scope: Scope, receive: Receive, response: HttpResponse, route_path: str = ""
    ) -> HttpResponse:
        """`response` (a 404, 405 or OPTIONS answer, rendered by mic) after the interceptors.

        `route_path` is the path template when the path is known (a 405), ``""`` otherwise:
        metrics get one series for every unknown path, never one per raw path.
        """
        context = HttpRequestContext.from_asgi(scope, receive, route_path=route_path)
        context.state["mic.unrouted"] = response
        return await self._endpoint(context)

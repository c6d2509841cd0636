"""FastAPI adapter: each compiled route becomes an `APIRoute` whose ASGI app is ours.

FastAPI still sees a typed endpoint signature, so its OpenAPI document lists every parameter,
body and response; but requests never go through FastAPI's dependency machinery: the route's
`app` is the shared `CompiledRoute` pipeline (ADR 0003).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Security
from fastapi import Cookie as CookieParam
from fastapi import Header as HeaderParam
from fastapi import Path as PathParam
from fastapi import Query as QueryParam
from fastapi.openapi.models import SecurityScheme
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from pydantic import TypeAdapter
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from mic.fastapi._lane import ensure_lane, match_under, record_route
from mic.http import (
    PROBLEM_JSON,
    PROBLEM_SCHEMA,
    ApiDocs,
    CompiledRoute,
    CompiledRouter,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    MethodNotAllowedApp,
    RouteSpecError,
    SecurityRequirement,
    UnroutedResponder,
    build_openapi,
    error_statuses,
    operation_id,
    render_internal_error,
    render_status_problem,
)

logger = logging.getLogger("mic.fastapi")

_PARAM_CLASSES = {
    "path": PathParam,
    "query": QueryParam,
    "header": HeaderParam,
    "cookie": CookieParam,
}


class _MicRoute(APIRoute):
    """An APIRoute served by a mic pipeline; FastAPI only routes to it and documents it."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self._mic_app: CompiledRoute = endpoint.__mic_app__
        self._mic_not_allowed: MethodNotAllowedApp = endpoint.__mic_not_allowed__
        # FastAPI versions that copy included routes pass the including router's
        # dependencies here: refuse them when the app is assembled.
        _refuse_dependencies(self.dependencies, self._mic_app.path)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve through the mic pipeline, or answer the path's 405 with its exact `Allow`.

        Starlette picks this route for a method no route of the path serves (``PROPFIND``,
        ``FOO``...); its own 405 would list this route's methods only.
        """
        effective = (scope.get("fastapi") or {}).get("effective_route_context")
        if effective is not None and _foreign(getattr(effective, "dependencies", ())):
            # FastAPI versions that include routers lazily bind the including router's
            # dependencies only now; `check_fastapi_app` finds them at startup already.
            logger.error("%s", _dependency_message(self._mic_app.path))
            rendered = render_internal_error()
            await _starlette_response(rendered)(scope, receive, send)
            return
        if scope["method"] in (self.methods or ()):
            await self._mic_app(scope, receive, send)
        else:
            await self._mic_not_allowed(scope, receive, send)


def _foreign(dependencies: Sequence[Any]) -> list[Any]:
    """The FastAPI dependencies that are not mic's own (documentation-only) schemes."""
    return [d for d in dependencies if not isinstance(d.dependency, _DocumentedScheme)]


def _dependency_message(path: str) -> str:
    return (
        f"mic route at {path!r}: a FastAPI dependency on the including router or app would "
        "never run on a mic route; express it as a mic interceptor "
        "(HttpRouterConfig(interceptors=...) or HttpRouteSpec(interceptors=...))"
    )


def _refuse_dependencies(dependencies: Sequence[Any], path: str) -> None:
    if _foreign(dependencies):
        raise RouteSpecError(_dependency_message(path))


def check_fastapi_app(app: FastAPI) -> None:
    """Refuse an app where a FastAPI dependency sits on an including router or the app.

    Such a dependency would never run on a mic route (the route's pipeline is mic's), so a
    guard written that way would silently let every request through. Routers built by
    `build_fastapi_router` run this check when the app starts; call it yourself to fail
    earlier (in a test, say).

    Raises:
        RouteSpecError: A mic route is included with foreign dependencies; the message
            names the route and says how to express the check (an interceptor).
    """
    for route in _effective_routes(app.router.routes):
        original = getattr(route, "original_route", route)
        if isinstance(original, _MicRoute):
            _refuse_dependencies(getattr(route, "dependencies", ()), original._mic_app.path)


def _effective_routes(routes: Sequence[Any]) -> list[Any]:
    found: list[Any] = []
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        found.extend(_effective_routes(candidates()) if candidates is not None else [route])
    return found


class _DocumentedScheme(SecurityBase):
    """A security scheme that only documents; the route's own interceptor enforces it."""

    def __init__(self, requirement: SecurityRequirement) -> None:
        self.model = TypeAdapter(SecurityScheme).validate_python(dict(requirement.scheme))
        self.scheme_name = requirement.scheme_name

    async def __call__(self) -> None:
        """Never called: mic routes do not run FastAPI dependencies."""


def _documented_endpoint(route: CompiledRoute, not_allowed: MethodNotAllowedApp) -> Any:
    parameters = []
    for param in route.signature.parameters:
        marker_class = _PARAM_CLASSES[param.location]
        options: dict[str, Any] = {"description": param.description}
        if param.location != "path":
            options["alias"] = param.alias
        if param.location == "header":
            options["convert_underscores"] = False
        marker = marker_class(**options)
        default = inspect.Parameter.empty if param.required else param.default
        parameters.append(
            inspect.Parameter(
                param.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[param.annotation, marker],
                default=default,
            )
        )
    signature = route.signature
    if signature.body_model is not None and signature.body_name is not None:
        annotation = (
            signature.body_model if signature.body_required else signature.body_model | None
        )
        default = inspect.Parameter.empty if signature.body_required else None
        parameters.append(
            inspect.Parameter(
                signature.body_name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[annotation, Body()],
                default=default,
            )
        )

    async def endpoint(**_: Any) -> None:
        """Never called: the route's ASGI app is the mic pipeline."""

    endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    endpoint.__mic_app__ = route  # type: ignore[attr-defined]
    endpoint.__mic_not_allowed__ = not_allowed  # type: ignore[attr-defined]
    endpoint.__name__ = route.spec.name.replace(".", "_")
    endpoint.__doc__ = route.spec.description
    return endpoint


def _responses(route: CompiledRoute) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {}
    for status, model in route.spec.responses.items():
        responses[status] = {"model": model} if model is not None else {"description": ""}
    for status, description in error_statuses(route).items():
        responses.setdefault(
            status,
            {
                "description": description,
                "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
            },
        )
    return responses


def _add_route(
    router: APIRouter, route: CompiledRoute, not_allowed: MethodNotAllowedApp, path: str
) -> None:
    spec = route.spec
    for method in spec.methods:
        name = operation_id(spec, method)
        router.add_api_route(
            path,
            _documented_endpoint(route, not_allowed),
            methods=[method],
            name=name,
            operation_id=name,
            summary=spec.summary or spec.name,
            description=spec.description,
            tags=list(spec.openapi_tags),
            status_code=spec.status_code,
            response_model=spec.response_model,
            responses=_responses(route),
            deprecated=spec.deprecated or None,
            include_in_schema=spec.include_in_schema and path == route.path,
            dependencies=[
                Security(_DocumentedScheme(s), scopes=list(s.scopes)) for s in route.security
            ],
            route_class_override=_MicRoute,
        )


class _MountedRouter(APIRouter):
    """An `APIRouter` that routes its mic routes itself (ADR 0070).

    FastAPI asks an included router whether it matches a request and then lets it handle
    it: both consult the compiled router, so FastAPI's per-route matching never runs for a
    mic path. A path mic does not know is left to FastAPI. The synthesized `APIRoute`s stay
    registered for FastAPI's own document and for FastAPI versions that copy routes on
    inclusion (there they serve, through `_MicRoute.handle`). Once the app's middleware
    stack exists, the fast lane answers mic paths before FastAPI's router (ADR 0071).
    """

    def __init__(self, compiled: CompiledRouter) -> None:
        super().__init__(lifespan=_checked_lifespan)
        self.mic_router = compiled
        # Per inclusion (FastAPI's included-router object): its prefix and whether it
        # carries foreign dependencies. The object is kept so that its id stays unique.
        self._inclusions: dict[int, tuple[Any, str, bool]] = {}
        self._matched: tuple[Scope, Any] | None = None

    def inclusion(self, included: Any) -> tuple[str, bool]:
        """The prefix of `included` (an inclusion) and whether it has foreign dependencies."""
        known: tuple[Any, str, bool] | None = self._inclusions.get(id(included))
        if known is None:
            context = getattr(included, "include_context", None)
            prefix = str(getattr(context, "prefix", "") or "")
            refused = bool(_foreign(list(getattr(context, "dependencies", ()) or ())))
            known = self._inclusions[id(included)] = (included, prefix, refused)
        return known[1], known[2]

    def _inclusion(self, scope: Scope) -> tuple[str, bool]:
        included = (scope.get("fastapi") or {}).get("included_router")
        if included is None or getattr(included, "original_router", None) is not self:
            return "", False
        prefix, refused = self.inclusion(included)
        return prefix, refused

    def _find(self, scope: Scope) -> Any:
        if scope["type"] != "http":
            return None
        prefix, _ = self._inclusion(scope)
        return match_under(self.mic_router, prefix, get_route_path(scope))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """A full match for every mic path (any method: mic answers the 405 itself)."""
        found = self._find(scope)
        if found is not None:
            # FastAPI handles a full match at once, with no await in between: `handle`
            # takes the answer from here instead of looking the path up again.
            self._matched = (scope, found)
            return Match.FULL, {}
        return super().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a mic path through its compiled route; anything else the FastAPI way."""
        matched, self._matched = self._matched, None
        found = matched[1] if matched is not None and matched[0] is scope else self._find(scope)
        if found is None:
            await super().handle(scope, receive, send)
            return
        target, params = found
        prefix, refused = self._inclusion(scope)
        if refused:
            # `check_fastapi_app` refuses this at startup; a server that skips the
            # lifespan still never serves the route unguarded.
            logger.error("%s", _dependency_message(target.path))
            await _starlette_response(render_internal_error())(scope, receive, send)
            return
        # An app served without lifespan gets its lane from its first mic request.
        ensure_lane(scope.get("app"), _is_mounted)
        record_route(scope, prefix + target.path)
        scope["path_params"] = params
        await target.app_for(scope["method"])(scope, receive, send)


def _is_mounted(router: Any) -> bool:
    return isinstance(router, _MountedRouter)


def build_fastapi_router(
    *,
    routes: Sequence[HttpRouteSpec],
    config: HttpRouterConfig | None = None,
    prefix: str = "",
) -> APIRouter:
    """An `APIRouter` serving `routes`, ready for `app.include_router(...)`.

    GET routes also answer HEAD; every path answers OPTIONS with `Allow` unless a route
    declares OPTIONS itself.

    Raises:
        RouteSpecError: A route cannot be served (bad signature, unknown placeholder, a policy
            whose dependency is not configured...).
    """
    mic_router = CompiledRouter(routes, config, prefix)
    router = _MountedRouter(mic_router)
    for route in mic_router.routes:
        not_allowed = mic_router.targets[route.path].not_allowed
        for path in _with_trailing_slash(route.path):
            _add_route(router, route, not_allowed, path)
    for extra in mic_router.extra_endpoints:
        app: Any = extra.app  # an ASGI app, which Starlette accepts as a route endpoint
        for path in _with_trailing_slash(extra.path):
            router.add_route(path, app, methods=list(extra.methods), include_in_schema=False)
    return router


@contextlib.asynccontextmanager
async def _checked_lifespan(app: Any) -> AsyncIterator[None]:
    """Startup check of the app that includes a mic router: see `check_fastapi_app`."""
    if isinstance(app, FastAPI):
        check_fastapi_app(app)
        ensure_lane(app, _is_mounted)
    yield


def _with_trailing_slash(path: str) -> tuple[str, ...]:
    """`path` and `path/`: Litestar serves both alike, where FastAPI would redirect (307)."""
    return (path,) if path.endswith("/") else (path, path + "/")


def _starlette_response(rendered: HttpResponse) -> Response:
    """A Starlette response sending `rendered` as it is."""
    response = Response(rendered.body, status_code=rendered.status_code)
    response.raw_headers = list(rendered.headers)
    return response


def _problem_for(exc: Exception) -> HttpResponse:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    headers: list[tuple[bytes, bytes]] = []
    if status == 405:
        allow = (
            (exc.headers or {}).get("Allow", "") if isinstance(exc, StarletteHTTPException) else ""
        )
        headers.append((b"allow", allow.encode("latin-1")))
        detail = "The method is not allowed on this resource"
    elif status == 404:
        detail = "No route matches this path"
    else:
        detail = str(getattr(exc, "detail", "")) or "Request failed"
    return render_status_problem(status, detail, headers)


def problem_exception_handlers(
    *, config: HttpRouterConfig | None = None
) -> dict[type[Exception], Any]:
    """Exception handlers making FastAPI's own 404/405 problem+json, for ``FastAPI(...)``.

    The same verb as on Litestar: ``FastAPI(exception_handlers=problem_exception_handlers())``.
    The answers pass through `config.interceptors` (the app-wide ones: correlation id,
    metrics...), as answers of mic routes do.
    """
    responder = UnroutedResponder(config)

    async def http_exception(request: Request, exc: Exception) -> Response:
        rendered = await responder.respond(request.scope, request.receive, _problem_for(exc))
        return _starlette_response(rendered)

    return {StarletteHTTPException: http_exception}


def install_problem_handlers(app: FastAPI, *, config: HttpRouterConfig | None = None) -> None:
    """Make FastAPI's own errors (unknown route 404, wrong method 405) problem+json too.

    They pass through `config.interceptors` (the app-wide ones: correlation id, metrics...),
    as answers of mic routes do.
    """
    for exception, handler in problem_exception_handlers(config=config).items():
        app.add_exception_handler(exception, handler)


def serve_openapi(app: FastAPI, docs: ApiDocs) -> None:
    """Serve mic's document (and docs page) on a FastAPI app, at `docs`' URLs.

    Raises:
        RouteSpecError: FastAPI's own document or docs page already takes one of those
            paths; create the app with ``FastAPI(openapi_url=None, docs_url=None,
            redoc_url=None)`` (what `build_fastapi_app` does).
    """
    own = {app.openapi_url, app.docs_url, app.redoc_url} if app.openapi_url else set()
    wanted = {docs.openapi_url, docs.docs_url}
    if taken := sorted(p for p in own & wanted if p):
        raise RouteSpecError(
            f"FastAPI already serves its own document at {', '.join(taken)}; create the app "
            "with FastAPI(openapi_url=None, docs_url=None, redoc_url=None) to serve mic's"
        )
    for endpoint in docs.endpoints():
        endpoint_app: Any = endpoint.app  # an ASGI app, which Starlette accepts
        for path in _with_trailing_slash(endpoint.path):
            app.router.add_route(
                path, endpoint_app, methods=list(endpoint.methods), include_in_schema=False
            )


def build_fastapi_app(
    *,
    routes: Sequence[HttpRouteSpec],
    config: HttpRouterConfig | None = None,
    prefix: str = "",
    title: str = "mic service",
    version: str = "0.1.0",
    description: str | None = None,
    openapi_url: str | None = "/openapi.json",
    docs_url: str | None = "/docs",
    **fastapi_options: Any,
) -> FastAPI:
    """A FastAPI app serving `routes`, with problem+json for every error.

    It publishes `build_openapi`'s document at `openapi_url` and the offline docs page at
    `docs_url` (``None`` turns either off), byte for byte what `build_litestar_app` serves;
    FastAPI's own document generator is switched off.

    Raises:
        RouteSpecError: A route cannot be served.
        MissingDependencyError: `docs_url` is set without the ``docs`` extra.
    """
    if description is not None:
        fastapi_options["description"] = description
    app = FastAPI(
        title=title,
        version=version,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        **fastapi_options,
    )
    app.include_router(build_fastapi_router(routes=routes, config=config, prefix=prefix))
    install_problem_handlers(app, config=config)
    if openapi_url is not None:
        document = build_openapi(
            routes,
            title=title,
            version=version,
            description=description,
            config=config,
            prefix=prefix,
        )
        serve_openapi(app, ApiDocs(document, openapi_url=openapi_url, docs_url=docs_url))
    return app

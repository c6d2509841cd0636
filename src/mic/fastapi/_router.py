"""FastAPI adapter: each compiled route becomes an `APIRoute` whose ASGI app is ours.

FastAPI still sees a typed endpoint signature, so its OpenAPI document lists every parameter,
body and response; but requests never go through FastAPI's dependency machinery: the route's
`app` is the shared `CompiledRoute` pipeline (ADR 0003).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
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
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mic.http import CompiledRoute, HttpRouterConfig, HttpRouteSpec, SecurityRequirement
from mic.http._openapi import error_statuses
from mic.http._pipeline import (
    MethodNotAllowedApp,
    allowed_methods,
    compile_routes,
    extra_endpoints,
)
from mic.http._problem_schema import PROBLEM_SCHEMA
from mic.http._render import PROBLEM_JSON, HttpResponse, render_status_problem

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

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve through the mic pipeline, or answer the path's 405 with its exact `Allow`.

        Starlette picks this route for a method no route of the path serves (``PROPFIND``,
        ``FOO``...); its own 405 would list this route's methods only.
        """
        if scope["method"] in (self.methods or ()):
            await self._mic_app(scope, receive, send)
        else:
            await self._mic_not_allowed(scope, receive, send)


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
        parameters.append(inspect.Parameter(param.name, inspect.Parameter.KEYWORD_ONLY,
                                            annotation=Annotated[param.annotation, marker],
                                            default=default))  # fmt: skip
    signature = route.signature
    if signature.body_model is not None and signature.body_name is not None:
        annotation = (
            signature.body_model if signature.body_required else signature.body_model | None
        )
        default = inspect.Parameter.empty if signature.body_required else None
        parameters.append(inspect.Parameter(signature.body_name, inspect.Parameter.KEYWORD_ONLY,
                                            annotation=Annotated[annotation, Body()],
                                            default=default))  # fmt: skip

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
        responses.setdefault(status, {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        })  # fmt: skip
    return responses


def _add_route(
    router: APIRouter, route: CompiledRoute, not_allowed: MethodNotAllowedApp, path: str
) -> None:
    spec = route.spec
    for method in spec.methods:
        router.add_api_route(
            path,
            _documented_endpoint(route, not_allowed),
            methods=[method],
            name=spec.name if len(spec.methods) == 1 else f"{spec.name}.{method.lower()}",
            operation_id=spec.name if len(spec.methods) == 1 else f"{spec.name}.{method.lower()}",
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
    compiled = compile_routes(tuple(routes), config, prefix)
    not_allowed = {
        path: MethodNotAllowedApp(allowed_methods(compiled, path))
        for path in {r.path for r in compiled}
    }
    router = APIRouter()
    for route in compiled:
        for path in _with_trailing_slash(route.path):
            _add_route(router, route, not_allowed[route.path], path)
    for extra in extra_endpoints(compiled):
        app: Any = extra.app  # an ASGI app, which Starlette accepts as a route endpoint
        for path in _with_trailing_slash(extra.path):
            router.add_route(path, app, methods=list(extra.methods), include_in_schema=False)
    return router


def _with_trailing_slash(path: str) -> tuple[str, ...]:
    """`path` and `path/`: Litestar serves both alike, where FastAPI would redirect (307)."""
    return (path,) if path.endswith("/") else (path, path + "/")


def _starlette_response(rendered: HttpResponse) -> Response:
    response = Response(rendered.body, status_code=rendered.status_code)
    response.raw_headers = list(rendered.headers)
    return response


async def _http_exception(request: Request, exc: Exception) -> Response:
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
    return _starlette_response(render_status_problem(status, detail, headers))


def install_problem_handlers(app: FastAPI) -> None:
    """Make FastAPI's own errors (unknown route 404, wrong method 405) problem+json too."""
    app.add_exception_handler(StarletteHTTPException, _http_exception)


def build_fastapi_app(
    *,
    routes: Sequence[HttpRouteSpec],
    config: HttpRouterConfig | None = None,
    prefix: str = "",
    title: str = "mic service",
    version: str = "0.1.0",
    **fastapi_options: Any,
) -> FastAPI:
    """A FastAPI app serving `routes`, with problem+json for every error; docs at ``/docs``."""
    app = FastAPI(title=title, version=version, **fastapi_options)
    app.include_router(build_fastapi_router(routes=routes, config=config, prefix=prefix))
    install_problem_handlers(app)
    return app

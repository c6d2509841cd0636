"""Framework-agnostic HTTP: route, request and response specs, and the shared pipeline.

Nothing here imports a web framework. `mic.fastapi` and `mic.litestar` serve the same specs
and answer the same bytes; `build_openapi` describes them without any framework.
"""

from mic.http._context import ClientDisconnectedError, HttpRequestContext, Identity
from mic.http._cors import CorsPolicy
from mic.http._csrf import CsrfPolicy
from mic.http._docs import ApiDocs
from mic.http._headers import Headers, QueryParams
from mic.http._openapi import build_openapi
from mic.http._params import (
    Cookie,
    HandlerParameter,
    HandlerSignature,
    Header,
    Path,
    Query,
    resolve_handler,
)
from mic.http._pipeline import (
    CompiledRoute,
    Endpoint,
    HttpRouterConfig,
    Interceptor,
    Public,
    RouteInterceptor,
    SecurityRequirement,
    compile_routes,
)
from mic.http._problem_schema import ProblemDetails
from mic.http._render import PROBLEM_JSON, HttpResponse, render_problem
from mic.http._security_headers import SecurityHeaders
from mic.http._specs import (
    CookieSameSite,
    HttpCookieSpec,
    HttpLink,
    HttpResponseSpec,
    HttpRouteSpec,
    RouteSpecError,
)

__all__ = [
    "PROBLEM_JSON",
    "ApiDocs",
    "ClientDisconnectedError",
    "CompiledRoute",
    "Cookie",
    "CookieSameSite",
    "CorsPolicy",
    "CsrfPolicy",
    "Endpoint",
    "HandlerParameter",
    "HandlerSignature",
    "Header",
    "Headers",
    "HttpCookieSpec",
    "HttpLink",
    "HttpRequestContext",
    "HttpResponse",
    "HttpResponseSpec",
    "HttpRouteSpec",
    "HttpRouterConfig",
    "Identity",
    "Interceptor",
    "Path",
    "ProblemDetails",
    "Public",
    "Query",
    "QueryParams",
    "RouteInterceptor",
    "RouteSpecError",
    "SecurityHeaders",
    "SecurityRequirement",
    "build_openapi",
    "compile_routes",
    "render_problem",
    "resolve_handler",
]

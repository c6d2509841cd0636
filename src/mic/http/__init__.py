"""Framework-agnostic HTTP: route, request and response specs, and the shared pipeline.

Nothing here imports a web framework. `mic.fastapi` and `mic.litestar` serve the same specs
and answer the same bytes; `build_openapi` describes them without any framework. The adapter
interface (`CompiledRouter`, `PathTarget`, `UnroutedResponder`, the fixed answers,
`operation_id`, `error_statuses`, the problem renderers and schema) is all a framework adapter
needs; see "Writing an adapter" in docs/http.md.
"""

from mic.http._answers import (
    AsgiApp,
    ExtraEndpoint,
    MethodNotAllowedApp,
    OptionsApp,
    UnroutedResponder,
    static_endpoints,
)
from mic.http._context import ClientDisconnectedError, HttpRequestContext, Identity
from mic.http._cors import CorsPolicy
from mic.http._csrf import CsrfPolicy
from mic.http._docs import ApiDocs
from mic.http._headers import Headers, QueryParams
from mic.http._interceptors import (
    Endpoint,
    HttpRouterConfig,
    Interceptor,
    Public,
    RequestCheck,
    RouteInterceptor,
    SecurityRequirement,
)
from mic.http._openapi import build_openapi, error_statuses
from mic.http._params import (
    Cookie,
    HandlerParameter,
    HandlerSignature,
    Header,
    Path,
    Query,
    resolve_handler,
)
from mic.http._problem_schema import PROBLEM_SCHEMA, ProblemDetails
from mic.http._render import (
    PROBLEM_JSON,
    HttpResponse,
    render_internal_error,
    render_problem,
    render_status_problem,
)
from mic.http._route import CompiledRoute, compile_routes, operation_id
from mic.http._router import CompiledRouter, PathTarget
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
    "PROBLEM_SCHEMA",
    "ApiDocs",
    "AsgiApp",
    "ClientDisconnectedError",
    "CompiledRoute",
    "CompiledRouter",
    "Cookie",
    "CookieSameSite",
    "CorsPolicy",
    "CsrfPolicy",
    "Endpoint",
    "ExtraEndpoint",
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
    "MethodNotAllowedApp",
    "OptionsApp",
    "Path",
    "PathTarget",
    "ProblemDetails",
    "Public",
    "Query",
    "QueryParams",
    "RequestCheck",
    "RouteInterceptor",
    "RouteSpecError",
    "SecurityHeaders",
    "SecurityRequirement",
    "UnroutedResponder",
    "build_openapi",
    "compile_routes",
    "error_statuses",
    "operation_id",
    "render_internal_error",
    "render_problem",
    "render_status_problem",
    "resolve_handler",
    "static_endpoints",
]

"""Where the pipeline's names used to live; kept so that private imports keep working.

The pipeline is split by concept: the interceptor contract and router config
(`_interceptors`), the compiled route (`_route`), the answers without a handler
(`_answers`) and the compiled router (`_router`). Import from `mic.http` instead.
"""

from mic.http._answers import (
    AsgiApp,
    ExtraEndpoint,
    MethodNotAllowedApp,
    OptionsApp,
    UnroutedResponder,
    allowed_methods,
    extra_endpoints,
    static_endpoints,
)
from mic.http._interceptors import (
    Endpoint,
    HttpRouterConfig,
    Interceptor,
    Public,
    RouteInterceptor,
    SecurityRequirement,
)
from mic.http._route import CompiledRoute, compile_routes

__all__ = [
    "AsgiApp",
    "CompiledRoute",
    "Endpoint",
    "ExtraEndpoint",
    "HttpRouterConfig",
    "Interceptor",
    "MethodNotAllowedApp",
    "OptionsApp",
    "Public",
    "RouteInterceptor",
    "SecurityRequirement",
    "UnroutedResponder",
    "allowed_methods",
    "compile_routes",
    "extra_endpoints",
    "static_endpoints",
]

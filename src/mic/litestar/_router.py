"""Litestar adapter: each compiled route becomes a handler that hands the request to mic.

The handler's signature is synthesized from the route spec, so Litestar's OpenAPI document
lists every parameter, body and response; at request time Litestar parses nothing (the
kwargs model is emptied) and the handler returns the route's `CompiledRoute`, an ASGI app
that Litestar runs as the response (ADR 0003).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from litestar import Litestar, Request, Response, Router
from litestar.enums import HttpMethod
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, Operation, SecurityScheme
from litestar.params import CookieParameter, HeaderParameter, PathParameter, QueryParameter
from litestar.routes import HTTPRoute
from litestar.utils import normalize_path
from pydantic.fields import FieldInfo

from mic.http import (
    PROBLEM_JSON,
    ApiDocs,
    AsgiApp,
    CompiledRoute,
    CompiledRouter,
    ExtraEndpoint,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    ProblemDetails,
    RouteSpecError,
    UnroutedResponder,
    build_openapi,
    error_statuses,
    operation_id,
    render_status_problem,
)
from mic.litestar._lane import MountedRoute
from mic.litestar._lane import install as install_lane

_NO_BODY = frozenset({204, 304})
_BOUNDS = (
    ("Gt", "gt"),
    ("Ge", "ge"),
    ("Lt", "lt"),
    ("Le", "le"),
    ("MinLen", "min_length"),
    ("MaxLen", "max_length"),
)
_PARAMETER_KINDS = {
    "path": PathParameter,
    "query": QueryParameter,
    "header": HeaderParameter,
    "cookie": CookieParameter,
}
# OpenAPI security scheme keys -> Litestar `SecurityScheme` field names.
_SCHEME_FIELDS = {
    "type": "type",
    "scheme": "scheme",
    "bearerFormat": "bearer_format",
    "in": "security_scheme_in",
    "name": "name",
    "description": "description",
    "openIdConnectUrl": "open_id_connect_url",
}


class _MicHandler(HTTPRouteHandler):
    """A route handler whose request handling is entirely mic's."""

    def create_kwargs_model(self, path_parameters: Any) -> Any:
        """An empty kwargs model: Litestar parses nothing, mic parses the request."""
        from litestar._kwargs import KwargsModel

        return KwargsModel(
            expected_cookie_params=set(),
            expected_data_dto=None,
            expected_dependencies=set(),
            expected_form_data=None,
            expected_header_params=set(),
            expected_msgpack_data=None,
            expected_path_params=set(),
            expected_query_params=set(),
            expected_reserved_kwargs=set(),
            is_data_optional=True,
            sequence_query_parameter_names=set(),
        )

    async def to_response(self, app: Any, data: Any, request: Request[Any, Any, Any]) -> Any:
        """The handler already returned the ASGI app that answers."""
        return data

    def on_registration(self, app: Litestar) -> None:
        """Refuse layered guards; publish the route's security schemes in Litestar's docs.

        Raises:
            RouteSpecError: A guard sits on an including router, controller or the app.
        """
        super().on_registration(app)
        if self.resolve_guards():
            path = min(self.paths, key=len)
            raise RouteSpecError(
                f"mic route at {path!r}: a Litestar guard on the including router or app would "
                "run with Litestar's request, not mic's, and only on Litestar; express it as "
                "a mic interceptor (HttpRouterConfig(interceptors=...) or "
                "HttpRouteSpec(interceptors=...))"
            )
        _register_security(app, self)
        _mount(app, self)


def _mount(app: Litestar, handler: _MicHandler) -> None:
    """Make the route holding `handler` a `MountedRoute` once every handler there is mic's.

    A route keeps Litestar's own handling when a foreign handler shares its path or when a
    layer adds per-handler work (a before-request or after-response hook, response
    caching) that mic's answer would skip. The app's router gets mic's short path (ADR 0072).
    """
    install_lane(app)
    for route in app.routes:
        if type(route) is not HTTPRoute or not any(h is handler for h in route.route_handlers):
            continue
        if all(
            isinstance(h, _MicHandler)
            and h.resolve_before_request() is None
            and h.resolve_after_response() is None
            and not h.cache
            for h in route.route_handlers
        ):
            route.__class__ = MountedRoute


def _constraints(annotation: Any) -> dict[str, Any]:
    """pydantic/annotated-types bounds of a parameter, as Litestar parameter keywords.

    Litestar documents parameter bounds only from its own markers, so they are copied there.
    """
    found: dict[str, Any] = {}
    if get_origin(annotation) is not Annotated:
        return found
    pending = list(get_args(annotation)[1:])
    while pending:
        item = pending.pop()
        if isinstance(item, FieldInfo):
            pending.extend(item.metadata)
            continue
        for attribute, keyword in _BOUNDS:
            if type(item).__name__ == attribute:
                found[keyword] = getattr(item, keyword)
    return found


def _methods(methods: tuple[str, ...]) -> list[HttpMethod]:
    return [HttpMethod(method) for method in methods]


def _litestar_path(path: str) -> str:
    return path.replace("}", ":str}")


def _operation_class(documented: set[str]) -> type[Operation]:
    @dataclass
    class _MicOperation(Operation):
        """Keeps only the answers mic documents (Litestar adds its own 400 otherwise)."""

        def __post_init__(self) -> None:
            if self.responses:
                self.responses = {k: v for k, v in self.responses.items() if k in documented}

    return _MicOperation


def _endpoint(app: AsgiApp, parameters: list[inspect.Parameter], returns: Any) -> Any:
    def endpoint(**_: Any) -> Any:
        return app

    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    # On the function, not the handler: Litestar deep-copies handlers (and what they hold)
    # when a router is nested, functions are copied by reference.
    endpoint.mic_app = app  # type: ignore[attr-defined]
    endpoint.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": returns}
    return endpoint


def _documented_parameters(route: CompiledRoute) -> list[inspect.Parameter]:
    parameters = []
    for param in route.signature.parameters:
        kind = _PARAMETER_KINDS[param.location]
        name = None if param.location == "path" else param.alias
        marker = kind(name=name, description=param.description, **_constraints(param.annotation))
        documented: Any = Annotated[param.annotation, marker]
        default = inspect.Parameter.empty if param.required else param.default
        parameters.append(
            inspect.Parameter(
                param.name, inspect.Parameter.KEYWORD_ONLY, annotation=documented, default=default
            )
        )
    signature = route.signature
    if signature.body_model is not None:
        annotation: Any = (
            signature.body_model if signature.body_required else signature.body_model | None
        )
        default = inspect.Parameter.empty if signature.body_required else None
        parameters.append(
            inspect.Parameter(
                "data", inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
            )
        )
    return parameters


def _route_handler(route: CompiledRoute, method: str) -> HTTPRouteHandler:
    spec = route.spec
    responses: dict[int, ResponseSpec] = {
        status: ResponseSpec(data_container=model, description=str(status), generate_examples=False)
        for status, model in spec.responses.items()
    }
    for status, description in error_statuses(route).items():
        responses.setdefault(
            status,
            ResponseSpec(
                data_container=ProblemDetails,
                description=description,
                media_type=PROBLEM_JSON,
                generate_examples=False,
            ),
        )
    documented = {str(spec.status_code), *(str(s) for s in responses)}
    returns = (
        spec.response_model
        if spec.response_model is not None
        else (None if spec.status_code in _NO_BODY else Any)
    )
    name = operation_id(spec, method)
    handler = _MicHandler(
        path=_litestar_path(route.path),
        http_method=_methods((method,)),
        name=name,
        operation_id=name,
        summary=spec.summary or spec.name,
        description=spec.description,
        tags=list(spec.openapi_tags),
        status_code=spec.status_code,
        responses=responses or None,
        deprecated=spec.deprecated,
        include_in_schema=spec.include_in_schema,
        security=[{s.scheme_name: list(s.scopes)} for s in route.security] or None,
        operation_class=_operation_class(documented),
        sync_to_thread=False,
    )(_endpoint(route, _documented_parameters(route), returns))
    handler.mic_security = route.security  # type: ignore[attr-defined]
    return handler


def _extra_handler(extra: ExtraEndpoint) -> HTTPRouteHandler:
    """An undocumented handler whose answer is `extra`'s ASGI app."""
    return _MicHandler(
        path=_litestar_path(extra.path),
        http_method=_methods(extra.methods),
        include_in_schema=False,
        sync_to_thread=False,
        name=f"mic.{'.'.join(extra.methods).lower()}.{extra.path}",
    )(_endpoint(extra.app, [], None))


def _with_allow(handler: HTTPRouteHandler, allow: tuple[str, ...]) -> HTTPRouteHandler:
    """Tag `handler` with its path's `Allow` methods, for `_method_not_allowed`."""
    handler.mic_allow = allow  # type: ignore[attr-defined]
    return handler


def _register_security(app: Litestar, handler: HTTPRouteHandler) -> None:
    config = app.openapi_config
    if config is None:
        return
    for requirement in getattr(handler, "mic_security", ()):
        if config.components is None or isinstance(config.components, list):
            config.components = Components()
        schemes = dict(config.components.security_schemes or {})
        schemes[requirement.scheme_name] = SecurityScheme(**_scheme_kwargs(requirement.scheme))
        config.components.security_schemes = schemes


def _scheme_kwargs(scheme: Any) -> dict[str, Any]:
    return {_SCHEME_FIELDS[k]: v for k, v in scheme.items() if k in _SCHEME_FIELDS}


def build_litestar_router(
    *,
    routes: Sequence[HttpRouteSpec],
    config: HttpRouterConfig | None = None,
    prefix: str = "",
) -> Router:
    """A Litestar `Router` serving `routes`, ready for ``Litestar(route_handlers=[...])``.

    GET routes also answer HEAD; every path answers OPTIONS with `Allow`, and other methods
    with a 405 problem, exactly as the FastAPI adapter does.

    Raises:
        RouteSpecError: A route cannot be served (bad signature, unknown placeholder, a policy
            whose dependency is not configured...).
    """
    mic_router = CompiledRouter(routes, config, prefix)
    allow = {path: target.allow for path, target in mic_router.targets.items()}
    # OPTIONS handlers first: Litestar adds its own OPTIONS handler to a path whose first
    # registered handler has none, and that one would answer instead of ours.
    handlers = [
        _with_allow(_extra_handler(extra), allow[extra.path])
        for extra in mic_router.extra_endpoints
    ]
    handlers.extend(
        _with_allow(_route_handler(route, method), allow[route.path])
        for route in mic_router.routes
        for method in route.spec.methods
    )
    handlers.sort(key=lambda handler: "OPTIONS" not in handler.http_methods)
    return Router(path="/", route_handlers=handlers)


class _UnroutedResponse(Response[bytes]):
    """Litestar's 404/405, answered through mic's app-wide interceptors.

    Litestar exception handlers are synchronous and interceptors are not, so the response
    runs them when Litestar sends it.
    """

    def __init__(self, responder: UnroutedResponder, rendered: HttpResponse) -> None:
        super().__init__(content=rendered.body, status_code=rendered.status_code)
        self._responder = responder
        self._rendered = rendered

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        """An ASGI callable sending the intercepted answer as it is."""
        responder, rendered = self._responder, self._rendered

        async def send_answer(*, scope: Any, receive: Any, send: Any) -> None:
            answer = await responder.respond(scope, receive, rendered)
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status_code,
                    "headers": answer.headers,
                }
            )
            body = b"" if scope["method"] == "HEAD" else answer.body
            await send({"type": "http.response.body", "body": body})

        return send_answer


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> HttpResponse:
    return render_status_problem(404, "No route matches this path")


def _allow(request: Request[Any, Any, Any], exc: Exception) -> str:
    """The exact `Allow` value for the request's path (RFC 9110 section 15.5.6).

    Litestar raises this for a method no handler is registered for (``PROPFIND``, ``FOO``...);
    its own list also names the methods mic answers with a 405, so on a mic path the answer
    comes from the path's handlers, as the FastAPI adapter and the 405 endpoints give it.
    """
    listed = (getattr(exc, "headers", None) or {}).get("allow", "")
    methods = sorted({m.strip() for m in listed.split(",") if m.strip()})
    if not methods:
        return ""
    path = request.scope["path"]
    if root_path := request.scope.get("root_path", ""):
        path = path.split(root_path, maxsplit=1)[-1]
    try:
        _, handler, *_ = request.app.asgi_router.handle_routing(
            path=normalize_path(path), method=methods[0]
        )
    except Exception:  # noqa: BLE001 - the path no longer resolves: keep Litestar's list
        return ", ".join(methods)
    allow: tuple[str, ...] | None = getattr(handler, "mic_allow", None)
    return ", ".join(allow if allow is not None else methods)


def _method_not_allowed(request: Request[Any, Any, Any], exc: Exception) -> HttpResponse:
    allow = _allow(request, exc)
    headers = [(b"allow", allow.encode("latin-1"))] if allow else []
    return render_status_problem(405, "The method is not allowed on this resource", headers)


def problem_exception_handlers(
    *, config: HttpRouterConfig | None = None
) -> dict[type[Exception], Any]:
    """Exception handlers making Litestar's own 404/405 problem+json, for ``Litestar(...)``.

    The answers pass through `config.interceptors` (the app-wide ones: correlation id,
    metrics...), as answers of mic routes do.
    """
    responder = UnroutedResponder(config)

    def through(render: Any) -> Any:
        def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
            return _UnroutedResponse(responder, render(request, exc))

        return handler

    return {
        NotFoundException: through(_not_found),
        MethodNotAllowedException: through(_method_not_allowed),
    }


def install_problem_handlers(app: Litestar, *, config: HttpRouterConfig | None = None) -> None:
    """Make an existing app's own 404/405 problem+json, as `problem_exception_handlers` does.

    The same verb as on FastAPI. Litestar reads the app's exception handlers when a request
    fails to route, so this works after the app is built; call it before serving.
    """
    for exception, handler in problem_exception_handlers(config=config).items():
        app.exception_handlers[exception] = handler


def serve_openapi(app: Litestar, docs: ApiDocs) -> None:
    """Serve mic's document (and docs page) on a Litestar app, at `docs`' URLs.

    Raises:
        RouteSpecError: Litestar's own OpenAPI endpoints take one of those paths; create
            the app with ``openapi_config=None`` (what `build_litestar_app` does).
    """
    config = app.openapi_config
    if config is not None:
        # Litestar serves its document under /schema when the config names no path.
        own = (config.path or "/schema").rstrip("/") or "/"
        wanted = [u for u in (docs.openapi_url, docs.docs_url) if u is not None]
        if taken := [u for u in wanted if u == own or u.startswith(own.rstrip("/") + "/")]:
            raise RouteSpecError(
                f"Litestar already serves its own document under {own} ({', '.join(taken)}); "
                "create the app with openapi_config=None to serve mic's"
            )
    endpoints = docs.endpoints()
    # OPTIONS handlers first, as in `build_litestar_router`.
    endpoints.sort(key=lambda endpoint: "OPTIONS" not in endpoint.methods)
    for endpoint in endpoints:
        app.register(_extra_handler(endpoint))


def build_litestar_app(
    *,
    routes: Sequence[HttpRouteSpec],
    config: HttpRouterConfig | None = None,
    prefix: str = "",
    title: str = "mic service",
    version: str = "0.1.0",
    description: str | None = None,
    openapi_url: str | None = "/openapi.json",
    docs_url: str | None = "/docs",
    **litestar_options: Any,
) -> Litestar:
    """A Litestar app serving `routes`, with problem+json for every error.

    It publishes `build_openapi`'s document at `openapi_url` and the offline docs page at
    `docs_url` (``None`` turns either off), byte for byte what `build_fastapi_app` serves;
    Litestar's own document generator is off unless ``openapi_config`` is passed.

    Raises:
        RouteSpecError: A route cannot be served.
        MissingDependencyError: `docs_url` is set without the ``docs`` extra.
    """
    router = build_litestar_router(routes=routes, config=config, prefix=prefix)
    handlers = litestar_options.pop("route_handlers", [])
    exception_handlers = {
        **problem_exception_handlers(config=config),
        **litestar_options.pop("exception_handlers", {}),
    }
    litestar_options.setdefault("openapi_config", None)
    # Logging belongs to the service (see mic.observability.configure_logging), not to the app.
    litestar_options.setdefault("logging_config", None)
    app = Litestar(
        route_handlers=[router, *handlers],
        exception_handlers=exception_handlers,
        **litestar_options,
    )
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

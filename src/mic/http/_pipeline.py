"""The request pipeline shared by every adapter: bind, validate, call, render.

A route is compiled once into a `CompiledRoute`, a plain ASGI callable. Adapters register it
with their framework; from there on the framework only routes, so every adapter answers the
same bytes. Interceptors (auth, rate limits, idempotency, metrics...) wrap the handler call.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from mic.http._context import (
    DEFAULT_MAX_BODY_SIZE,
    ClientDisconnectedError,
    HttpRequestContext,
)
from mic.http._params import HandlerParameter, HandlerSignature, resolve_handler
from mic.http._render import (
    HttpResponse,
    encode_json,
    render_internal_error,
    render_json,
    render_problem,
    render_response,
    render_status_problem,
)
from mic.http._specs import HTTP_METHODS, HttpResponseSpec, HttpRouteSpec, RouteSpecError
from mic.model import DomainError, UnsupportedMediaTypeError, ValidationFailedError

logger = logging.getLogger("mic.http")

T = TypeVar("T")
Endpoint = Callable[[HttpRequestContext], Awaitable[HttpResponse]]
Interceptor = Callable[[HttpRequestContext, Endpoint], Awaitable[HttpResponse]]
Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SecurityRequirement:
    """How an interceptor asks callers to authenticate, for the OpenAPI document.

    Attributes:
        scheme_name: Key under ``components.securitySchemes``.
        scheme: The OpenAPI security scheme object.
        scopes: Scopes the route requires.
    """

    scheme_name: str
    scheme: Mapping[str, Any]
    scopes: tuple[str, ...] = ()


class RouteInterceptor(ABC):
    """A policy attached to a route (auth, rate limit, idempotency...), bound at build time.

    `bind` runs once per route when the router is built: it checks that what it needs is
    configured (fail closed: raise `RouteSpecError` otherwise) and returns the callable that
    wraps every request, or ``None`` when there is nothing to do at request time.
    """

    @abstractmethod
    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor | None:
        """Prepare the per-request callable for `route`."""

    def openapi_security(self) -> SecurityRequirement | None:
        """The security requirement this policy adds to the route's docs."""
        return None

    def openapi_errors(self) -> Mapping[int, str]:
        """Extra problem+json answers this policy may produce: status to description."""
        return {}


class Public(RouteInterceptor):
    """An explicit "no authentication" policy: `HttpRouteSpec(auth=Public())`.

    Only needed under a router whose `HttpRouterConfig.default_auth` protects every route
    that declares nothing: a route opts out by saying so, never by omission.
    """

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor | None:
        """Nothing to do at request time."""
        return None

    def __repr__(self) -> str:
        return "Public()"


@dataclass(frozen=True, slots=True)
class HttpRouterConfig:
    """What the routes of one router share.

    Attributes:
        services: Objects interceptors look up by type (a token verifier, a rate limiter...).
        interceptors: Interceptors applied to every route, outermost first.
        default_auth: The auth policy of every route whose `auth` is ``None`` (fail closed:
            a route is public under it only with ``auth=Public()``).
        max_body_size: Request body limit in bytes; a larger body is a 413.
    """

    services: Mapping[type[Any], Any] = field(default_factory=dict)
    interceptors: tuple[RouteInterceptor, ...] = ()
    default_auth: RouteInterceptor | None = None
    max_body_size: int = DEFAULT_MAX_BODY_SIZE

    def __post_init__(self) -> None:
        if self.max_body_size < 0:
            raise ValueError("max_body_size must be >= 0")
        for kind, service in self.services.items():
            if not isinstance(service, kind):
                raise TypeError(f"service {service!r} is not an instance of {kind.__name__}")

    def get(self, kind: Callable[..., T]) -> T | None:
        """The service registered for `kind`, or ``None``.

        `kind` is a class, abstract ones included (typed as a callable only because mypy
        refuses abstract classes where ``type[T]`` is expected).
        """
        found = self.services.get(cast("type[Any]", kind))
        return cast("T", found) if isinstance(found, cast("type[Any]", kind)) else None


def _guarded(interceptor: Interceptor, call_next: Endpoint, route_name: str) -> Endpoint:
    async def endpoint(context: HttpRequestContext) -> HttpResponse:
        try:
            return await interceptor(context, call_next)
        except DomainError as error:
            return render_problem(error)
        except ClientDisconnectedError:
            raise
        except Exception:
            logger.exception("unhandled error in an interceptor of route %s", route_name)
            return render_internal_error()

    return endpoint


def _pydantic_errors(error: ValidationError, prefix: tuple[str | int, ...]) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *item["loc"]], "type": item["type"], "msg": item["msg"]}
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]


def _is_json_media_type(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class CompiledRoute:
    """A route resolved once: an ASGI callable that serves one `HttpRouteSpec`.

    Attributes:
        spec: The route spec.
        path: The full path template (router prefix included).
        signature: The resolved handler parameters.
        security: Security requirements declared by the route's interceptors.
        error_statuses: Documented problem+json answers: status to description.
    """

    def __init__(self, spec: HttpRouteSpec, config: HttpRouterConfig, prefix: str = "") -> None:
        self.spec = spec
        self.path = (prefix.rstrip("/") + spec.path) if prefix else spec.path
        self.signature: HandlerSignature = resolve_handler(spec.name, spec.handler, spec.path)
        self.max_body_size = (
            spec.max_body_size if spec.max_body_size is not None else config.max_body_size
        )
        self._handler = spec.handler
        self.answers_head = "HEAD" not in spec.methods and "GET" in spec.methods
        policies = [
            *config.interceptors,
            spec.auth if spec.auth is not None else config.default_auth,
            spec.rate_limit,
            spec.idempotency,
            *spec.interceptors,
        ]
        active = [p for p in policies if p is not None]
        self.security = tuple(s for p in active if (s := p.openapi_security()) is not None)
        self.error_statuses: dict[int, str] = {}
        for policy in active:
            self.error_statuses.update(policy.openapi_errors())
        endpoint: Endpoint = self._invoke
        for policy in reversed(active):
            bound = policy.bind(spec, config)
            if bound is not None:
                endpoint = _guarded(bound, endpoint, spec.name)
        self._endpoint = endpoint
        self._extractors = tuple(self._extractor(p) for p in self.signature.parameters)

    def __repr__(self) -> str:
        return f"CompiledRoute({self.spec.name!r}, {'|'.join(self.spec.methods)} {self.path})"

    @staticmethod
    def _extractor(param: HandlerParameter) -> Callable[[HttpRequestContext], Any]:
        alias = param.alias
        if param.location == "path":
            return lambda ctx: ctx.path_params.get(alias, None)
        if param.location == "cookie":
            return lambda ctx: ctx.cookies.get(alias, None)
        if param.location == "header":
            if param.is_sequence:
                return lambda ctx: ctx.headers.getall(alias) or None
            return lambda ctx: ctx.headers.get(alias, None)
        if param.is_sequence:
            return lambda ctx: ctx.query_params.getall(alias) or None
        return lambda ctx: ctx.query_params.get(alias, None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request (ASGI)."""
        context = HttpRequestContext.from_asgi(
            scope,
            receive,
            route_name=self.spec.name,
            route_path=self.path,
            max_body_size=self.max_body_size,
        )
        try:
            response = await self._endpoint(context)
        except ClientDisconnectedError:
            return
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.headers,
            }
        )
        body = b"" if scope["method"] == "HEAD" else response.body
        await send({"type": "http.response.body", "body": body})

    async def handle(self, context: HttpRequestContext) -> HttpResponse:
        """Run the whole pipeline (interceptors included) for a ready-made context."""
        return await self._endpoint(context)

    async def _invoke(self, context: HttpRequestContext) -> HttpResponse:
        try:
            kwargs = await self._bind(context)
            if self.signature.is_async:
                result = await self._handler(**kwargs)
            else:
                result = await asyncio.to_thread(functools.partial(self._handler, **kwargs))
            if isinstance(result, HttpResponseSpec):
                return render_response(result)
            if result is None:
                return render_response(HttpResponseSpec(status_code=self.spec.status_code))
            return render_json(self.spec.status_code, encode_json(result))
        except DomainError as error:
            return render_problem(error)
        except ClientDisconnectedError:
            raise
        except Exception:
            logger.exception("unhandled error in route %s", self.spec.name)
            return render_internal_error()

    async def _bind(self, context: HttpRequestContext) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for param, extract in zip(self.signature.parameters, self._extractors, strict=True):
            raw = extract(context)
            if raw is None:
                if param.required:
                    errors.append({"loc": [param.location, param.alias], "type": "missing",
                                   "msg": "Field required"})  # fmt: skip
                else:
                    kwargs[param.name] = param.default_value()
                continue
            try:
                kwargs[param.name] = param.adapter.validate_python(raw)
            except ValidationError as exc:
                errors.extend(_pydantic_errors(exc, (param.location, param.alias)))
        signature = self.signature
        if signature.body_model is not None and signature.body_name is not None:
            kwargs[signature.body_name] = await self._read_body(
                context, signature.body_model, errors
            )
        if signature.context_name is not None:
            kwargs[signature.context_name] = context
        if errors:
            raise ValidationFailedError(
                message="The request is not valid", details={"errors": errors}
            )
        return kwargs

    async def _read_body(
        self, context: HttpRequestContext, model: type[BaseModel], errors: list[dict[str, Any]]
    ) -> BaseModel | None:
        content_type = context.headers.get("content-type")
        if content_type is not None and not _is_json_media_type(content_type):
            raise UnsupportedMediaTypeError(
                message="The request body must be JSON (application/json)",
                details={"content_type": content_type},
            )
        raw = await context.body()
        stripped = raw.strip()
        if not stripped or (not self.signature.body_required and stripped == b"null"):
            if self.signature.body_required:
                errors.append({"loc": ["body"], "type": "missing", "msg": "Field required"})
            return None
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            if exc.errors()[0]["type"] != "json_invalid":
                errors.extend(_pydantic_errors(exc, ("body",)))
                return None
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DomainError(
                    "invalid_encoding", "The request body is not valid UTF-8"
                ) from None
            raise DomainError(
                "malformed_json",
                "The request body is not valid JSON",
                {"error": exc.errors()[0]["msg"]},
            ) from None


def compile_routes(
    routes: tuple[HttpRouteSpec, ...] | list[HttpRouteSpec],
    config: HttpRouterConfig | None = None,
    prefix: str = "",
) -> tuple[CompiledRoute, ...]:
    """Compile every route, checking that names and (method, path) pairs are unique.

    Raises:
        RouteSpecError: A route cannot be served, or two routes collide.
    """
    config = config or HttpRouterConfig()
    if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
        raise RouteSpecError(f"prefix {prefix!r} must start with '/' and not end with '/'")
    compiled = tuple(CompiledRoute(route, config, prefix) for route in routes)
    names: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for route in compiled:
        if route.spec.name in names:
            raise RouteSpecError(f"two routes are named {route.spec.name!r}")
        names.add(route.spec.name)
        for method in route.spec.methods:
            key = (method, route.path)
            if key in seen:
                raise RouteSpecError(f"two routes serve {method} {route.path}")
            seen.add(key)
    return compiled


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


AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
        extras.extend(ExtraEndpoint(path, ("HEAD",), r) for r in routes
                      if r.path == path and r.answers_head)  # fmt: skip
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
                endpoint = _guarded(bound, endpoint, spec.name)
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

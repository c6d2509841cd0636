"""A route compiled once into a plain ASGI callable: bind, validate, call, render.

Interceptors (auth, rate limits, idempotency, metrics...) wrap the handler call; every adapter
runs this same callable, so every framework answers the same bytes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import SchemaValidator

from mic.http._context import (
    ClientDisconnectedError,
    HttpRequestContext,
    RouteFacts,
    _from_asgi,
)
from mic.http._interceptors import Endpoint, HttpRouterConfig, RequestCheck, checked, guarded
from mic.http._params import HandlerParameter, HandlerSignature, resolve_handler
from mic.http._render import (
    HttpResponse,
    encode_json,
    render_internal_error,
    render_json,
    render_problem,
    render_response,
)
from mic.http._specs import HttpResponseSpec, HttpRouteSpec, RouteSpecError
from mic.model import DomainError, UnsupportedMediaTypeError, ValidationFailedError

logger = logging.getLogger("mic.http")

Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def operation_id(spec: HttpRouteSpec, method: str) -> str:
    """The route's operationId (and framework route name) for `method`.

    The route's name, or ``name.method`` when one spec serves several methods.
    """
    return spec.name if len(spec.methods) == 1 else f"{spec.name}.{method.lower()}"


def _validator(adapter: TypeAdapter[Any]) -> Callable[[Any], Any]:
    """`adapter.validate_python`, minus the Python wrapper around the core validator."""
    core = getattr(adapter, "validator", None)
    return core.validate_python if isinstance(core, SchemaValidator) else adapter.validate_python


def _json_validator(model: type[BaseModel]) -> Callable[[bytes], Any]:
    """`model.model_validate_json`, minus the Python wrapper around the core validator."""
    core = getattr(model, "__pydantic_validator__", None)
    return core.validate_json if isinstance(core, SchemaValidator) else model.model_validate_json


def _refuse(errors: list[dict[str, Any]]) -> None:
    raise ValidationFailedError(message="The request is not valid", details={"errors": errors})


def _pydantic_errors(error: ValidationError, prefix: tuple[str | int, ...]) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *item["loc"]], "type": item["type"], "msg": item["msg"]}
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]


def _is_json_media_type(content_type: str) -> bool:
    if content_type == "application/json":
        return True
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
        self._facts = RouteFacts(spec.name, self.path, self.max_body_size)
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
            if isinstance(bound, RequestCheck):
                endpoint = checked(bound, endpoint, spec.name)
            elif bound is not None:
                endpoint = guarded(bound, endpoint, spec.name)
        self._endpoint = endpoint
        self._extractors = tuple(self._extractor(p) for p in self.signature.parameters)
        self._bindings = tuple(
            (param, extract, _validator(param.adapter))
            for param, extract in zip(self.signature.parameters, self._extractors, strict=True)
        )
        body = self.signature.body_model
        self._validate_body = _json_validator(body) if body is not None else None
        # Read once here rather than through `signature` on every request.
        self._body_name = self.signature.body_name if self._validate_body is not None else None
        self._context_name = self.signature.context_name
        self._is_async = self.signature.is_async

    def __repr__(self) -> str:
        return f"CompiledRoute({self.spec.name!r}, {'|'.join(self.spec.methods)} {self.path})"

    @staticmethod
    def _extractor(param: HandlerParameter) -> Callable[[HttpRequestContext], Any] | None:
        """How to read the parameter's raw value; ``None`` for a path parameter (read inline)."""
        alias = param.alias
        if param.location == "path":
            return None
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
        context = _from_asgi(HttpRequestContext, scope, receive, self._facts)
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
            errors: list[dict[str, Any]] = []
            kwargs = self._bind(context, errors) if self._bindings else {}
            if self._body_name is not None:
                kwargs[self._body_name] = await self._read_body(context, errors)
            if self._context_name is not None:
                kwargs[self._context_name] = context
            if errors:
                _refuse(errors)
            if self._is_async:
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

    def _bind(self, context: HttpRequestContext, errors: list[dict[str, Any]]) -> dict[str, Any]:
        """The path, query, header and cookie arguments; failures go to `errors`."""
        kwargs: dict[str, Any] = {}
        path_params = context.path_params
        for param, extract, validate in self._bindings:
            raw = path_params.get(param.alias) if extract is None else extract(context)
            if raw is None:
                if param.required:
                    missing = {"loc": [param.location, param.alias], "type": "missing"}
                    errors.append(missing | {"msg": "Field required"})
                else:
                    kwargs[param.name] = param.default_value()
                continue
            try:
                kwargs[param.name] = validate(raw)
            except ValidationError as exc:
                errors.extend(_pydantic_errors(exc, (param.location, param.alias)))
        return kwargs

    async def _read_body(
        self, context: HttpRequestContext, errors: list[dict[str, Any]]
    ) -> BaseModel | None:
        content_type = context._first_header(b"content-type")
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
            body: BaseModel = self._validate_body(raw)  # type: ignore[misc]
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
        return body


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

"""A method's contract, resolved once: the request model, header parameters, the answer type.

The request message is the handler's body model when the body is its only input; otherwise
a model synthesized from every path/query parameter plus the body (named after the
parameter), like ``google.api.http`` maps a request message onto a route. Header
parameters come from metadata. The answer is a model; any other type `T` is wrapped in
``<Method>Response { T value = 1; }``, and ``None`` is an empty ``<Method>Response``.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from mic.grpc._specs import GrpcMethodSpec, GrpcServiceSpec, GrpcSpecError
from mic.http import HandlerParameter, HandlerSignature, HttpResponseSpec, resolve_handler

_STREAM_ORIGINS = (
    collections.abc.AsyncIterator,
    collections.abc.AsyncGenerator,
    collections.abc.AsyncIterable,
)
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class MethodContract:
    """Everything a codec and the servicer need about one method, resolved at build time.

    Attributes:
        service: The service spec.
        spec: The method spec.
        path: ``/package.Service/Method``.
        signature: The handler's resolved parameters.
        request_model: The request message's model (the body model, or synthesized).
        request_is_body: Whether `request_model` is the handler's body model itself.
        headers: Handler parameters read from metadata.
        response_model: The answer's model (the declared model, or synthesized).
        response_wrapped: Whether the declared answer type sits in a ``value`` field.
        response_empty: Whether the handler answers nothing (an empty message).
        request_fields: The field names of a synthesized `request_model`.
        is_async: Whether the handler is a coroutine function (else it runs in a thread).
    """

    service: GrpcServiceSpec
    spec: GrpcMethodSpec
    path: str
    signature: HandlerSignature
    request_model: type[BaseModel]
    request_is_body: bool
    headers: tuple[HandlerParameter, ...]
    response_model: type[BaseModel]
    response_wrapped: bool
    response_empty: bool
    request_fields: tuple[str, ...] = ()
    is_async: bool = True

    def handler_kwargs(self, request: BaseModel) -> dict[str, Any]:
        """The handler's keyword arguments from a validated request (headers excluded)."""
        body_name = self.signature.body_name
        if self.request_is_body:
            return {body_name: request} if body_name is not None else {}
        return {name: getattr(request, name) for name in self.request_fields}

    def response_message(self, result: Any) -> BaseModel:
        """The handler's result as an instance of `response_model`.

        Raises:
            pydantic.ValidationError: The result does not fit the declared answer type.
        """
        if isinstance(result, HttpResponseSpec):
            result = result.body
        model = self.response_model
        if self.response_empty:
            return model()
        if self.response_wrapped:
            return model.model_validate({"value": result}, strict=False)
        if type(result) is model:
            return result
        if isinstance(result, BaseModel):
            result = result.model_dump()
        return model.model_validate(result, strict=False)

    def response_value(self, message: BaseModel) -> Any:
        """What a client returns for an answer: the model, the wrapped value, or ``None``."""
        if self.response_empty:
            return None
        return getattr(message, "value") if self.response_wrapped else message  # noqa: B009


def _return_type(spec: GrpcMethodSpec, where: str) -> Any:
    if spec.response_model is not None:
        return spec.response_model
    try:
        hints = typing.get_type_hints(spec.handler, include_extras=True)
    except (NameError, TypeError) as exc:
        raise GrpcSpecError(f"{where}: cannot read the handler's annotations: {exc}") from exc
    if "return" not in hints:
        raise GrpcSpecError(f"{where}: annotate the handler's return type or set response_model")
    annotation = hints["return"]
    if spec.server_streaming:
        if get_origin(annotation) not in _STREAM_ORIGINS:
            raise GrpcSpecError(f"{where}: a streaming handler returns AsyncIterator[Message]")
        annotation = get_args(annotation)[0]
    if annotation is HttpResponseSpec:
        raise GrpcSpecError(
            f"{where}: the handler returns HttpResponseSpec; set response_model to the body type"
        )
    return annotation


def _message_name(spec: GrpcMethodSpec, suffix: str) -> str:
    return f"{spec.name[:1].upper()}{spec.name[1:]}{suffix}"


def _is_document(annotation: Any) -> bool:
    """Whether `annotation` is a free-form JSON object: ``dict[str, Any]`` (or ``| None``)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return len(options) == 1 and _is_document(options[0])
    if get_origin(annotation) not in (dict, collections.abc.Mapping):
        return False
    key, value = get_args(annotation)
    return key is str and value is Any


def _document_parameters(handler: Callable[..., Any], where: str) -> dict[str, inspect.Parameter]:
    """Parameters annotated ``dict[str, Any]``: free-form request fields (dict-in handlers)."""
    try:
        hints = typing.get_type_hints(handler, include_extras=True)
        parameters = inspect.signature(handler).parameters
    except (NameError, TypeError, ValueError) as exc:
        raise GrpcSpecError(f"{where}: cannot read the handler signature: {exc}") from exc
    return {
        name: param.replace(annotation=hints[name])
        for name, param in parameters.items()
        if name in hints
        and _is_document(hints[name])
        and param.kind is inspect.Parameter.KEYWORD_ONLY
    }


def _without(handler: Callable[..., Any], names: Mapping[str, Any]) -> Callable[..., Any]:
    """`handler` as `resolve_handler` should see it: without the document parameters."""
    if not names:
        return handler
    signature = inspect.signature(handler)
    hints = typing.get_type_hints(handler, include_extras=True)

    def view(**kwargs: Any) -> Any:  # pragma: no cover - only its signature is read
        return handler(**kwargs)

    view.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for n, p in signature.parameters.items() if n not in names]
    )
    view.__annotations__ = {k: v for k, v in hints.items() if k not in names}
    return view


def _request_model(
    spec: GrpcMethodSpec,
    signature: HandlerSignature,
    documents: Mapping[str, inspect.Parameter],
    where: str,
) -> tuple[type[BaseModel], bool, tuple[HandlerParameter, ...]]:
    fields: dict[str, Any] = {}
    for name, document in documents.items():
        required = document.default is inspect.Parameter.empty
        fields[name] = (document.annotation, ... if required else document.default)
    headers: list[HandlerParameter] = []
    for param in signature.parameters:
        if param.location == "cookie":
            raise GrpcSpecError(f"{where}, parameter {param.name!r}: gRPC has no cookies")
        if param.location == "header":
            headers.append(param)
            continue
        fields[param.name] = (param.annotation, ... if param.required else param.default)
    body_model, body_name = signature.body_model, signature.body_name
    if body_model is not None and body_name is not None:
        if not fields and not documents:
            return body_model, True, tuple(headers)
        annotation = body_model if signature.body_required else body_model | None
        fields[body_name] = (annotation, ... if signature.body_required else None)
    try:
        model = create_model(
            _message_name(spec, "Request"),
            __config__=ConfigDict(extra="forbid", strict=True),
            **fields,
        )
    except (TypeError, ValueError, NameError) as exc:
        raise GrpcSpecError(f"{where}: cannot build the request message: {exc}") from exc
    return model, False, tuple(headers)


def _response_model(spec: GrpcMethodSpec, where: str) -> tuple[type[BaseModel], bool, bool]:
    annotation = _return_type(spec, where)
    if annotation is None or annotation is type(None):
        return create_model(_message_name(spec, "Response")), False, True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False, False
    try:
        TypeAdapter(annotation)
        model = create_model(
            _message_name(spec, "Response"),
            __config__=ConfigDict(extra="forbid"),
            value=(annotation, ...),
        )
    except (TypeError, ValueError, NameError) as exc:
        raise GrpcSpecError(f"{where}: unsupported answer type {annotation!r}: {exc}") from exc
    return model, True, False


def compile_method(service: GrpcServiceSpec, spec: GrpcMethodSpec) -> MethodContract:
    """Resolve `spec` once.

    Raises:
        GrpcSpecError: The handler cannot be served over gRPC; the message names the method.
    """
    path = f"/{service.full_name}/{spec.name}"
    where = f"method {path!r}"
    documents = _document_parameters(spec.handler, where)
    try:
        signature = resolve_handler(path, _without(spec.handler, documents), spec.path)
    except ValueError as exc:  # RouteSpecError
        raise GrpcSpecError(str(exc)) from exc
    request_model, request_is_body, headers = _request_model(spec, signature, documents, where)
    response_model, wrapped, empty = _response_model(spec, where)
    return MethodContract(
        service=service,
        spec=spec,
        path=path,
        signature=signature,
        request_model=request_model,
        request_is_body=request_is_body,
        headers=headers,
        response_model=response_model,
        response_wrapped=wrapped,
        response_empty=empty,
        request_fields=tuple(request_model.model_fields),
        is_async=inspect.iscoroutinefunction(spec.handler)
        or inspect.iscoroutinefunction(type(spec.handler).__call__),
    )


def validation_errors(error: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors in the shape HTTP answers use (ADR 0002), without the input."""
    return [
        {"loc": list(item["loc"]), "type": item["type"], "msg": item["msg"]}
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]

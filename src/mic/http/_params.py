"""Handler signatures resolved once, at build time, into typed parameter binders.

The convention: keyword-only parameters. A pydantic model is the JSON body, an
`HttpRequestContext` is injected, a name that matches a path placeholder is a path
parameter, `Annotated[T, Header()]` / `Annotated[T, Cookie()]` read headers and cookies, and
every other parameter is a query parameter. Values are converted from their annotation.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import inspect
import types
import typing
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, TypeAdapter

from mic.http._context import HttpRequestContext
from mic.http._specs import RouteSpecError

Location = Literal["path", "query", "header", "cookie"]
_SCALARS: tuple[type, ...] = (
    str,
    int,
    float,
    bool,
    uuid.UUID,
    dt.datetime,
    dt.date,
    dt.time,
    Decimal,
)
_SEQUENCES = (list, tuple, set, frozenset, Sequence)
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class _Marker:
    alias: str | None = None
    description: str | None = None
    location: Location = "query"


def Query(alias: str | None = None, *, description: str | None = None) -> Any:  # noqa: N802
    """Mark a parameter as a query parameter (the default), e.g. to rename it with `alias`."""
    return _Marker(alias, description, "query")


def Header(alias: str | None = None, *, description: str | None = None) -> Any:  # noqa: N802
    """Read a parameter from a request header; the name defaults to `x_token` -> `x-token`."""
    return _Marker(alias, description, "header")


def Cookie(alias: str | None = None, *, description: str | None = None) -> Any:  # noqa: N802
    """Read a parameter from a request cookie; the cookie name defaults to the parameter's."""
    return _Marker(alias, description, "cookie")


def Path(*, description: str | None = None) -> Any:  # noqa: N802
    """Document a path parameter; the parameter name must match a `{placeholder}`."""
    return _Marker(None, description, "path")


@dataclass(frozen=True, slots=True)
class HandlerParameter:
    """One resolved handler parameter read from the path, query, headers or cookies.

    Attributes:
        name: The Python parameter name.
        location: Where the value comes from.
        alias: The name on the wire.
        annotation: The annotation, without mic markers (pydantic constraints kept).
        required: Whether a request without it is invalid.
        default: Value used when it is absent and not required.
        is_sequence: Whether repeated values are collected into a list.
        description: Text for the API docs.
    """

    name: str
    location: Location
    alias: str
    annotation: Any
    required: bool
    default: Any
    is_sequence: bool
    description: str | None
    adapter: TypeAdapter[Any]

    def default_value(self) -> Any:
        """A fresh copy of the default, so a mutable default is never shared."""
        return copy.copy(self.default)


@dataclass(frozen=True, slots=True)
class HandlerSignature:
    """Everything about a handler's parameters, resolved once."""

    parameters: tuple[HandlerParameter, ...]
    body_name: str | None
    body_model: type[BaseModel] | None
    body_required: bool
    context_name: str | None
    is_async: bool


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(args) < len(get_args(annotation)):
            return args[0], True
    return annotation, False


def _split_annotated(annotation: Any) -> tuple[Any, _Marker | None, tuple[Any, ...]]:
    if get_origin(annotation) is not Annotated:
        return annotation, None, ()
    base, *extras = get_args(annotation)
    markers = [e for e in extras if isinstance(e, _Marker)]
    if len(markers) > 1:
        raise TypeError("more than one of Query/Header/Cookie/Path")
    others = tuple(e for e in extras if not isinstance(e, _Marker))
    return base, (markers[0] if markers else None), others


def _is_scalar(annotation: Any) -> bool:
    inner, _ = _strip_optional(annotation)
    if get_origin(inner) is Annotated:
        return _is_scalar(get_args(inner)[0])
    if get_origin(inner) is Literal:
        return all(isinstance(v, str | int | bool) for v in get_args(inner))
    return isinstance(inner, type) and (issubclass(inner, enum.Enum) or inner in _SCALARS)


def _sequence_item(annotation: Any) -> Any:
    inner, _ = _strip_optional(annotation)
    if get_origin(inner) in _SEQUENCES:
        args = get_args(inner)
        if len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis):
            return args[0]
    return None


def _body_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    inner, optional = _strip_optional(annotation)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner, optional
    return None, False


def _literal_from_text(values: tuple[Any, ...]) -> Callable[[Any], Any]:
    by_text = {str(v).lower() if isinstance(v, bool) else str(v): v for v in values}

    def convert(raw: Any) -> Any:
        return by_text.get(raw, raw) if isinstance(raw, str) else raw

    return convert


def _wire_annotation(annotation: Any) -> Any:
    """`annotation`, with non-string `Literal` values also accepted in their text form."""
    origin = get_origin(annotation)
    if origin is Literal and not all(isinstance(v, str) for v in get_args(annotation)):
        return Annotated[annotation, BeforeValidator(_literal_from_text(get_args(annotation)))]
    if origin is Annotated:
        base, *extras = get_args(annotation)
        return Annotated[(_wire_annotation(base), *extras)]
    if origin is Union or origin is types.UnionType:
        return Union[tuple(_wire_annotation(a) for a in get_args(annotation))]  # noqa: UP007
    if origin in _SEQUENCES and get_args(annotation):
        return origin[tuple(_wire_annotation(a) for a in get_args(annotation))]
    return annotation


def _default_alias(name: str, location: Location) -> str:
    return name.replace("_", "-") if location == "header" else name


def _resolve_parameter(
    name: str, annotation: Any, default: Any, placeholders: set[str]
) -> HandlerParameter:
    base, marker, constraints = _split_annotated(annotation)
    location: Location = marker.location if marker else "query"
    if name in placeholders:
        if marker is not None and marker.location != "path":
            raise TypeError(f"matches a path placeholder but is marked as {marker.location}")
        location = "path"
    elif location == "path":
        raise TypeError("is marked Path() but the path has no such {placeholder}")
    item = _sequence_item(base)
    is_sequence = item is not None
    if is_sequence and location in ("path", "cookie"):
        raise TypeError(f"a {location} parameter cannot be a sequence")
    if not (_is_scalar(item) if is_sequence else _is_scalar(base)):
        raise TypeError(f"unsupported annotation {annotation!r} for a {location} parameter")
    clean = Annotated[(base, *constraints)] if constraints else base
    _, optional = _strip_optional(base)
    if default is inspect.Parameter.empty and optional:
        default = None
    required = default is inspect.Parameter.empty
    if location == "path" and not required:
        raise TypeError("a path parameter cannot have a default")
    alias = (marker.alias if marker and marker.alias else None) or _default_alias(name, location)
    return HandlerParameter(
        name=name,
        location=location,
        alias=alias.lower() if location == "header" else alias,
        annotation=clean,
        required=required,
        default=None if required else default,
        is_sequence=is_sequence,
        description=marker.description if marker else None,
        adapter=TypeAdapter(_wire_annotation(clean)),
    )


def resolve_handler(route_name: str, handler: Callable[..., Any], path: str) -> HandlerSignature:
    """Resolve `handler`'s signature against the route's path template.

    Raises:
        RouteSpecError: The handler cannot be served; the message names route and parameter.
    """
    from mic.http._specs import path_placeholders

    placeholders = set(path_placeholders(path))
    try:
        hints = typing.get_type_hints(handler, include_extras=True)
        signature = inspect.signature(handler)
    except (NameError, TypeError, ValueError) as exc:
        raise RouteSpecError(
            f"route {route_name!r}: cannot read the handler signature: {exc}"
        ) from exc
    parameters: list[HandlerParameter] = []
    body_name: str | None = None
    body_model: type[BaseModel] | None = None
    body_required = False
    context_name: str | None = None
    for param in signature.parameters.values():
        where = f"route {route_name!r}, parameter {param.name!r}"
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise RouteSpecError(f"{where}: handler parameters must be keyword-only (add '*,')")
        annotation = hints.get(param.name, inspect.Parameter.empty)
        if annotation is inspect.Parameter.empty:
            raise RouteSpecError(f"{where}: missing type annotation")
        if annotation is HttpRequestContext:
            context_name = param.name
            continue
        model, optional = _body_model(annotation)
        if model is not None:
            if body_name is not None:
                raise RouteSpecError(f"{where}: a second body model (the body is {body_name!r})")
            body_name, body_model = param.name, model
            body_required = not optional and param.default is inspect.Parameter.empty
            continue
        try:
            parameters.append(
                _resolve_parameter(param.name, annotation, param.default, placeholders)
            )
        except TypeError as exc:
            raise RouteSpecError(f"{where}: {exc}") from exc
    declared = {p.name for p in parameters if p.location == "path"}
    if missing := sorted(placeholders - declared):
        raise RouteSpecError(
            f"route {route_name!r}: path placeholder(s) {missing} have no handler parameter"
        )
    return HandlerSignature(
        parameters=tuple(parameters),
        body_name=body_name,
        body_model=body_model,
        body_required=body_required,
        context_name=context_name,
        is_async=inspect.iscoroutinefunction(handler)
        or inspect.iscoroutinefunction(type(handler).__call__),
    )

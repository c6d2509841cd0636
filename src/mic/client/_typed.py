"""Typed calls from a route contract: URL, query, headers and body built and validated once.

A `PreparedRoute` is resolved from an `HttpRouteSpec` the first time it is called (the same
handler resolution the server uses), then reused: per call only the values are validated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import pydantic_core
from pydantic import BaseModel, TypeAdapter, ValidationError

from mic.client._errors import UpstreamServiceError
from mic.http import HandlerParameter, HttpRouteSpec, resolve_handler
from mic.model import ValidationFailedError


def _errors(error: ValidationError, prefix: tuple[str | int, ...]) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *item["loc"]], "type": item["type"], "msg": item["msg"]}
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]


# RFC 9110 section 5.5: a field value is visible ASCII, spaces and tabs (no CR/LF: they
# would smuggle a header of their own in); httpx sends header values as ASCII.
_HEADER_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?")
# RFC 6265 section 4.1.1: cookie-octet, so "a; admin=1" cannot add a cookie of its own.
_COOKIE_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
_REFUSED = {
    "path": ("path_segment", "Path values must not be empty, '.' or '..'"),
    "header": ("header_value", "Header values must be visible ASCII, without CR or LF"),
    "cookie": ("cookie_value", "Cookie values must be RFC 6265 cookie octets"),
}


def _wire_error(location: str, alias: str, items: list[str]) -> dict[str, Any] | None:
    """The error for values that would not reach the server as they are, or ``None``."""
    if location == "path":
        # An empty segment would hit another route (``/items/`` is ``/items``), and a
        # dot segment is removed by URL normalisation (``/items/..`` is ``/``), RFC 3986 5.2.4.
        refused = items[0] in ("", ".", "..")
    elif location == "header":
        refused = any(item and not _HEADER_VALUE.fullmatch(item) for item in items)
    elif location == "cookie":
        refused = not _COOKIE_VALUE.fullmatch(items[0])
    else:
        return None
    if not refused:
        return None
    kind, message = _REFUSED[location]
    return {"loc": [location, alias], "type": kind, "msg": message}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class PreparedRoute:
    """What the client needs to call one route: resolved once per route spec.

    Attributes:
        route: The route spec.
        method: The HTTP method (the first, for a multi-method route).
    """

    def __init__(self, route: HttpRouteSpec) -> None:
        signature = resolve_handler(route.name, route.handler, route.path)
        self.route = route
        self.method = route.methods[0]
        self.parameters: dict[str, HandlerParameter] = {p.name: p for p in signature.parameters}
        self.body_model: type[BaseModel] | None = signature.body_model
        self.body_required = signature.body_required
        self._response: TypeAdapter[Any] | None = (
            None if route.response_model is None else TypeAdapter(route.response_model)
        )

    def build(
        self, values: Mapping[str, Any], payload: Any
    ) -> tuple[str, list[tuple[str, str]], dict[str, str], bytes | None]:
        """Path, query pairs, headers and body for one call.

        Raises:
            TypeError: A value names no handler parameter, or a payload for a route without
                a body.
            ValidationFailedError: A value or the payload does not fit the contract (422,
                before anything is sent).
        """
        if unknown := sorted(set(values) - set(self.parameters)):
            raise TypeError(f"route {self.route.name!r} has no parameter(s) {unknown}")
        errors: list[dict[str, Any]] = []
        path_values: dict[str, str] = {}
        query: list[tuple[str, str]] = []
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, param in self.parameters.items():
            if name not in values or values[name] is None:
                if param.required:
                    errors.append(
                        {
                            "loc": [param.location, param.alias],
                            "type": "missing",
                            "msg": "Field required",
                        }
                    )
                continue
            try:
                value = param.adapter.validate_python(values[name])
            except ValidationError as exc:
                errors.extend(_errors(exc, (param.location, param.alias)))
                continue
            wire = param.adapter.dump_python(value, mode="json")
            items = [_text(v) for v in wire] if param.is_sequence else [_text(wire)]
            if (refused := _wire_error(param.location, param.alias, items)) is not None:
                errors.append(refused)
                continue
            if param.location == "path":
                path_values[name] = quote(items[0], safe="")
            elif param.location == "query":
                query.extend((param.alias, item) for item in items)
            elif param.location == "header":
                headers[param.alias] = ", ".join(items)
            else:
                cookies.append(f"{param.alias}={items[0]}")
        body = self._body(payload, errors)
        if errors:
            raise ValidationFailedError(
                "invalid_request",
                f"The call to {self.route.name!r} does not fit its contract",
                {"errors": errors},
            )
        if cookies:
            headers["cookie"] = "; ".join(cookies)
        return self.route.path.format_map(path_values), query, headers, body

    def _body(self, payload: Any, errors: list[dict[str, Any]]) -> bytes | None:
        model = self.body_model
        if model is None:
            if payload is not None:
                raise TypeError(f"route {self.route.name!r} takes no request body")
            return None
        if payload is None:
            if self.body_required:
                errors.append({"loc": ["body"], "type": "missing", "msg": "Field required"})
            return None
        if not isinstance(payload, model):
            try:
                # Validate as the server will: from JSON, so strict models read UUIDs, dates...
                payload = model.model_validate_json(pydantic_core.to_json(payload))
            except ValidationError as exc:
                errors.extend(_errors(exc, ("body",)))
                return None
            except pydantic_core.PydanticSerializationError as exc:
                # Something JSON cannot hold (an arbitrary object): the caller's input.
                errors.append({"loc": ["body"], "type": "json_unserializable", "msg": str(exc)})
                return None
        body: str = payload.model_dump_json(by_alias=True)
        return body.encode("utf-8")

    def parse(self, content: bytes) -> Any:
        """The answer as the declared `response_model` (or plain JSON, or ``None`` if empty).

        Raises:
            UpstreamServiceError: The answer does not fit the declared model (502).
        """
        if not content.strip():
            return None
        try:
            if self._response is None:
                return pydantic_core.from_json(content)
            return self._response.validate_json(content)
        except ValueError as exc:
            details = (
                {"errors": _errors(exc, ("response",))} if isinstance(exc, ValidationError) else {}
            )
            raise UpstreamServiceError(
                "invalid_upstream_response",
                f"The answer of {self.route.name!r} does not fit its contract",
                details,
                upstream_status=200,
            ) from exc

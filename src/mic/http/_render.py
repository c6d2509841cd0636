"""Turn a handler's answer or a domain error into bytes: one rendering for every adapter."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import pydantic_core

from mic.contracts._schema import ANY_ENVELOPE
from mic.http._specs import NO_HEADERS, HttpResponseSpec
from mic.model import DomainError

logger = logging.getLogger("mic.http")

JSON = b"application/json"
PROBLEM_JSON = "application/problem+json"
_NO_BODY_STATUSES = frozenset({204, 304})
# The renderer owns the message framing: these never come from handler or error headers.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})
_OWN_HEADERS = FRAMING_HEADERS | {"content-type"}
# Tuples, not `bytes | bytearray`: a union is built anew at every evaluation.
_BINARY = (bytes, bytearray, memoryview)
_TEXT_OR_BINARY = (*_BINARY, str)


def encode_json(value: Any) -> bytes:
    """`value` as JSON bytes; NaN and infinities become ``null``.

    RFC 8259 has no NaN or Infinity, and pydantic's default ``NaN`` output is not JSON, so
    non-finite floats are written as ``null``, as pydantic models already do.

    Raises:
        pydantic_core.PydanticSerializationError: `value` cannot be serialized.
    """
    if type(value) is ANY_ENVELOPE:
        # What `wrap_http_success` returns: its fields serialize as they are (both `Any`),
        # and a dict serializes without the model serializer's extra pass (ADR 0074).
        value = value.__dict__
    return pydantic_core.to_json(value, inf_nan_mode="null")


@dataclass(slots=True)
class HttpResponse:
    """A rendered answer: status, raw header pairs (lower-case names) and body bytes.

    Interceptors receive and return these; adapters send them as they are, so every
    framework puts the same bytes on the wire.
    """

    status_code: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """First value of header `name` (case-insensitive), or ``None``."""
        key = name.lower().encode("latin-1")
        for header_name, value in self.headers:
            if header_name == key:
                return value.decode("latin-1")
        return None

    def set_header(self, name: str, value: str) -> None:
        """Replace every value of header `name` with `value`."""
        key = name.lower().encode("latin-1")
        self.headers = [(k, v) for k, v in self.headers if k != key]
        self.headers.append((key, value.encode("latin-1")))


def _finish(
    status: int, media_type: str | None, body: bytes, extra: list[tuple[bytes, bytes]]
) -> HttpResponse:
    if status in _NO_BODY_STATUSES or status < 200:
        return HttpResponse(status, extra, b"")
    headers = []
    if media_type is not None:
        headers.append((b"content-type", media_type.encode("latin-1")))
    headers.append((b"content-length", str(len(body)).encode()))
    headers.extend(extra)
    return HttpResponse(status, headers, body)


def _encode_body(body: Any, media_type: str | None) -> tuple[bytes, str | None]:
    if body is None:
        return b"", media_type
    if isinstance(body, _BINARY):
        return bytes(body), media_type or "application/octet-stream"
    if isinstance(body, str):
        return body.encode("utf-8"), media_type or "text/plain; charset=utf-8"
    return encode_json(body), media_type or "application/json"


def render_response(spec: HttpResponseSpec) -> HttpResponse:
    """Render a handler's `HttpResponseSpec`.

    Raises:
        pydantic_core.PydanticSerializationError: The body cannot be serialized to JSON.
    """
    if (spec.headers is NO_HEADERS or not spec.headers) and not spec.cookies:
        status = spec.status_code
        body = spec.body
        if (
            spec.media_type is None
            and status not in _NO_BODY_STATUSES
            and body is not None
            and not issubclass(type(body), _TEXT_OR_BINARY)
        ):
            # The common answer: a JSON body and nothing else to say.
            return render_json(status, encode_json(body))
        encoded, media_type = _encode_body(body, spec.media_type)
        return _finish(status, media_type, encoded, [])
    body, media_type = _encode_body(spec.body, spec.media_type)
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in spec.headers.items()]
    extra.extend((b"set-cookie", cookie.render().encode("latin-1")) for cookie in spec.cookies)
    return _finish(spec.status_code, media_type, body, extra)


def render_json(status: int, body: bytes) -> HttpResponse:
    """A JSON answer from already-encoded bytes (the hot path of plain return values)."""
    return HttpResponse(
        status, [(b"content-type", JSON), (b"content-length", str(len(body)).encode())], body
    )


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a DomainError subclass with an unregistered status, e.g. 499
        return "Client Error" if status < 500 else "Server Error"


def problem_body(
    status: int, code: str, detail: str, details: dict[str, Any], problem_type: str = "about:blank"
) -> dict[str, Any]:
    """The RFC 9457 problem document; `code` and `details` are extension members."""
    return {
        "type": problem_type,
        "title": _title(status),
        "status": status,
        "detail": detail,
        "code": code,
        "details": details,
    }


def render_problem(error: DomainError) -> HttpResponse:
    """Render a domain error as `application/problem+json` (RFC 9457); never raises.

    An error that cannot be rendered as it is (details that are not JSON, a header value that
    is not latin-1, a status outside 100-599) is logged and degraded, never re-raised: a
    failure here would escape the pipeline and each framework would answer its own 500.
    """
    status = error.http_status_code
    if not 400 <= status <= 599:
        logger.error("error %r has status %s, not a 4xx/5xx; answering 500", error.code, status)
        return render_internal_error()
    document = problem_body(status, error.code, error.message, error.details, error.problem_type)
    try:
        body = encode_json(document)
    except pydantic_core.PydanticSerializationError:
        logger.exception("details of error %r are not JSON-serializable", error.code)
        document["details"] = {}
        body = encode_json(document)
    try:
        extra = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in error.headers.items()
            if name.lower() not in _OWN_HEADERS
        ]
    except UnicodeEncodeError:
        logger.exception("headers of error %r are not latin-1; they are dropped", error.code)
        extra = []
    return _finish(status, PROBLEM_JSON, body, extra)


def render_internal_error() -> HttpResponse:
    """The generic 500 answer: nothing about the failure reaches the client."""
    document = problem_body(500, "internal_error", "The server could not complete the request", {})
    return _finish(500, PROBLEM_JSON, encode_json(document), [])


def render_status_problem(
    status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> HttpResponse:
    """A problem answer for a framework-level status (404 unknown route, 405 wrong method)."""
    code = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    document = problem_body(status, code, detail, {})
    return _finish(status, PROBLEM_JSON, encode_json(document), list(headers or []))

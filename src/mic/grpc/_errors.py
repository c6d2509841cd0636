"""`DomainError` <-> gRPC status, both ways, with the problem details in trailing metadata.

The server renders the error exactly as HTTP would (`mic.http.render_problem`) and sends the
problem document as ``mic-problem-bin``; a mic client rebuilds the same `DomainError` from
it (`mic.client`'s status table). Without it (another server), the status code alone picks
the class.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mic._deps import require
from mic.client._errors import error_from_problem, retry_after_seconds
from mic.http import render_problem
from mic.model import DomainError

require("grpc", "grpc")

import grpc.aio  # noqa: E402

import grpc  # noqa: E402

PROBLEM_METADATA = "mic-problem-bin"
"""Trailing metadata key holding the RFC 9457 problem document (JSON, UTF-8)."""

_CODES_BY_STATUS: dict[int, Any] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
    501: grpc.StatusCode.UNIMPLEMENTED,
    502: grpc.StatusCode.UNAVAILABLE,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}
# The reverse, for answers without a problem document (HTTP statuses, as in ADR 0002).
_STATUS_BY_CODE: dict[Any, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.CANCELLED: 503,
}
_CODE_NAMES = {
    grpc.StatusCode.DEADLINE_EXCEEDED: "deadline_exceeded",
    grpc.StatusCode.UNAVAILABLE: "upstream_unavailable",
    grpc.StatusCode.CANCELLED: "cancelled",
}


def status_code_for(error: DomainError) -> Any:
    """The `grpc.StatusCode` for `error` (by its HTTP status; 4xx default ``INVALID_ARGUMENT``)."""
    status = error.http_status_code
    code = _CODES_BY_STATUS.get(status)
    if code is not None:
        return code
    return grpc.StatusCode.INVALID_ARGUMENT if 400 <= status < 500 else grpc.StatusCode.INTERNAL


def error_trailers(error: DomainError) -> tuple[Any, str, tuple[tuple[str, str | bytes], ...]]:
    """Status code, status message and trailing metadata that carry `error` to the client."""
    response = render_problem(error)
    status = response.status_code
    trailers: list[tuple[str, str | bytes]] = [(PROBLEM_METADATA, response.body)]
    retry_after = response.header("retry-after")
    if retry_after is not None:
        trailers.append(("retry-after", retry_after))
    code = _CODES_BY_STATUS.get(status, grpc.StatusCode.INTERNAL)
    if status == error.http_status_code:
        code = status_code_for(error)
    message = error.message if status == error.http_status_code else "Internal server error"
    return code, message, tuple(trailers)


def _metadata_value(metadata: Iterable[Any] | None, key: str) -> str | bytes | None:
    for item in metadata or ():
        name, value = item
        if name == key:
            return value  # type: ignore[no-any-return]
    return None


def error_from_rpc_error(error: Any) -> DomainError:
    """The `DomainError` a failed call stands for (a ``grpc.aio.AioRpcError`` or ``grpc.RpcError``).

    With a ``mic-problem-bin`` trailer (a mic server) the error is the one the server raised:
    class, ``code``, message and ``details``, as `mic.client` rebuilds it over HTTP. Otherwise
    the status code picks the class, and the status message is the message.
    """
    code = error.code()
    trailers = error.trailing_metadata()
    raw = _metadata_value(trailers, PROBLEM_METADATA)
    problem: dict[str, Any] = {}
    if isinstance(raw, bytes):
        try:
            document = json.loads(raw)
        except ValueError:
            document = None
        if isinstance(document, dict):
            problem = document
    status = problem.get("status")
    if not isinstance(status, int) or not 400 <= status <= 599:
        status = _STATUS_BY_CODE.get(code, 500)
        problem = {"code": _CODE_NAMES.get(code), "detail": error.details() or ""}
    retry = _metadata_value(trailers, "retry-after")
    return error_from_problem(
        status, problem, retry_after_seconds(retry if isinstance(retry, str) else None)
    )

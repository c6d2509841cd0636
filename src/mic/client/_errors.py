"""Problem+json answers turned back into the `DomainError` the other service raised.

The status picks the class (ADR 0002's table, read backwards); ``code``, ``detail`` and
``details`` are kept, so an error crosses services intact. 502/503/504 and connection
failures are `TransientError`; any other answer >= 400 is an `UpstreamServiceError` (502),
and its `UpstreamServerError` subclass when the status is a 5xx, so that circuit breakers
count it as the other service failing (ADR 0013).
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mic.model import (
    ConflictError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    TransientError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)

if TYPE_CHECKING:
    import httpx

_ERRORS_BY_STATUS: dict[int, type[DomainError]] = {
    400: DomainError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: ValidationFailedError,
    429: RateLimitedError,
    502: TransientError,
    503: TransientError,
    504: TransientError,
}
TRANSIENT_STATUSES = frozenset({502, 503, 504})


class UpstreamServiceError(DomainError):
    """The other service answered something this service cannot pass on as it is (502).

    Attributes:
        upstream_status: The status the other service answered.
    """

    http_status_code = 502
    default_code = "upstream_error"

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        details: dict[str, Any] | None = None,
        *,
        upstream_status: int = 502,
    ) -> None:
        super().__init__(code, message, details)
        self.upstream_status = upstream_status


class UpstreamServerError(UpstreamServiceError, TransientError):
    """The other service failed with a 5xx no other class stands for (500, 501, 505...).

    Still answered as a 502 (`UpstreamServiceError`), and also a `TransientError`, so a
    `mic.resilience.CircuitBreaker` counts it with its default ``counted_exceptions``. The
    client does not retry it itself (a failed handler may have acted, and a bug does not heal
    in 100 ms); an outer ``retry`` may, since it is a `TransientError`.
    """


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or HTTP-date, RFC 9110 section 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def _problem(response: httpx.Response) -> dict[str, Any]:
    media = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if not (media == "application/json" or media.endswith("+json")):
        return {}
    try:
        document = json.loads(response.content)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def error_from_response(response: httpx.Response) -> DomainError:
    """The `DomainError` an error answer (status >= 400) stands for."""
    return error_from_problem(
        response.status_code,
        _problem(response),
        retry_after_seconds(response.headers.get("retry-after")),
    )


def error_from_problem(
    status: int, problem: Mapping[str, Any], retry_after: float | None = None
) -> DomainError:
    """The `DomainError` a problem document with HTTP `status` stands for.

    Shared by the HTTP client and `mic.grpc`, so both transports raise the same error.
    """
    code = problem.get("code") if isinstance(problem.get("code"), str) else None
    detail = problem.get("detail")
    message = detail if isinstance(detail, str) else ""
    details = problem.get("details") if isinstance(problem.get("details"), dict) else None
    kind = _ERRORS_BY_STATUS.get(status)
    error: DomainError
    if kind is None:
        upstream_kind = UpstreamServerError if status >= 500 else UpstreamServiceError
        error = upstream_kind(
            code, message or f"The upstream service answered {status}", details,
            upstream_status=status,
        )  # fmt: skip
    else:
        if kind is TransientError and code is None:
            code = "upstream_unavailable"
            message = message or f"The upstream service answered {status}"
        error = kind(code, message, details)
    if retry_after is not None:
        error.retry_after = retry_after
        error.headers["Retry-After"] = str(max(0, math.ceil(retry_after)))
    return error

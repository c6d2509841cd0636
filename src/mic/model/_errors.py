"""The `DomainError` family.

Every error carries a stable machine `code`, a human `message` and JSON-safe `details`; the
class decides the HTTP status. On HTTP they become RFC 9457 problem details (see `mic.http`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    """A failure the domain knows about and the caller can act on.

    Args:
        code: Stable, machine-readable identifier (``"item_not_found"``).
        message: Human-readable explanation; it reaches the client as ``detail``.
        details: JSON-safe extra data; it reaches the client as ``details``.
        headers: Extra response headers (``WWW-Authenticate``...).
        retry_after: Seconds after which a retry may succeed; sent as ``Retry-After``
            (rounded up to whole seconds, RFC 9110 section 10.2.3).

    Subclasses set `http_status_code` and `default_code`; `DomainError` itself is a 400.
    """

    http_status_code: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"
    problem_type: ClassVar[str] = "about:blank"

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        details: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message = message or self.code.replace("_", " ").capitalize()
        self.details: dict[str, Any] = dict(details or {})
        self.headers: dict[str, str] = dict(headers or {})
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers.setdefault("Retry-After", str(max(0, math.ceil(retry_after))))
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ValidationFailedError(DomainError):
    """The request or command is well-formed but its values are invalid (422)."""

    http_status_code = 422
    default_code = "validation_failed"


class UnauthorizedError(DomainError):
    """The caller is not authenticated (401)."""

    http_status_code = 401
    default_code = "unauthorized"


class ForbiddenError(DomainError):
    """The caller is authenticated but not allowed to do this (403)."""

    http_status_code = 403
    default_code = "forbidden"


class NotFoundError(DomainError):
    """The addressed resource does not exist (404)."""

    http_status_code = 404
    default_code = "not_found"


class ConflictError(DomainError):
    """The request conflicts with the current state, e.g. a stale version (409)."""

    http_status_code = 409
    default_code = "conflict"


class PayloadTooLargeError(DomainError):
    """The request body exceeds the configured limit (413)."""

    http_status_code = 413
    default_code = "payload_too_large"


class UnsupportedMediaTypeError(DomainError):
    """The request body has a media type the route does not accept (415)."""

    http_status_code = 415
    default_code = "unsupported_media_type"


class RateLimitedError(DomainError):
    """The caller exceeded a rate limit (429); `retry_after` seconds go out as `Retry-After`."""

    http_status_code = 429
    default_code = "rate_limited"


class TransientError(DomainError):
    """A temporary failure worth retrying later: a dependency is down or overloaded (503)."""

    http_status_code = 503
    default_code = "temporarily_unavailable"

"""Domain errors carry code, message, details and the HTTP status they map to."""

from __future__ import annotations

import pytest

from mic import model
from mic.model import DomainError, RateLimitedError, TransientError


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (model.DomainError, 400, "bad_request"),
        (model.ValidationFailedError, 422, "validation_failed"),
        (model.UnauthorizedError, 401, "unauthorized"),
        (model.ForbiddenError, 403, "forbidden"),
        (model.NotFoundError, 404, "not_found"),
        (model.ConflictError, 409, "conflict"),
        (model.PayloadTooLargeError, 413, "payload_too_large"),
        (model.UnsupportedMediaTypeError, 415, "unsupported_media_type"),
        (model.RateLimitedError, 429, "rate_limited"),
        (model.TransientError, 503, "temporarily_unavailable"),
    ],
)
def test_each_error_maps_to_its_status_with_a_default_code(
    error: type[DomainError], status: int, code: str
) -> None:
    raised = error()
    assert (status, code) == (raised.http_status_code, raised.code)
    assert raised.message == str(raised)


def test_the_spec_signature_works() -> None:
    error = DomainError(code="item_locked", message="Item is locked", details={"id": 3})
    assert (
        error.code,
        error.message,
        error.details,
        error.headers,
    ) == ("item_locked", "Item is locked", {"id": 3}, {})
    assert repr(error) == "DomainError(code='item_locked', message='Item is locked')"
    assert DomainError("item_locked").message == "Item locked"


@pytest.mark.parametrize(
    ("seconds", "header"), [(0, "0"), (0.2, "1"), (2.0, "2"), (2.5, "3"), (-4, "0")]
)
def test_retry_after_is_rounded_up_to_whole_seconds(seconds: float, header: str) -> None:
    for error in (TransientError(retry_after=seconds), RateLimitedError(retry_after=seconds)):
        assert (header, seconds) == (error.headers["Retry-After"], error.retry_after)


def test_explicit_headers_win_over_retry_after() -> None:
    error = TransientError(headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, retry_after=5)
    assert error.headers["Retry-After"] == "Wed, 21 Oct 2026 07:28:00 GMT"

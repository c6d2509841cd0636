"""Domain errors: what went wrong in the domain, with the HTTP status each one maps to."""

from mic.model._errors import (
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

__all__ = [
    "ConflictError",
    "DomainError",
    "ForbiddenError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "TransientError",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "ValidationFailedError",
]

"""`StrictSchema` and the `HttpSuccessEnvelope` that wraps successful JSON answers."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class StrictSchema(BaseModel):
    """Base class for wire contracts: unknown fields are rejected and instances are immutable.

    Validation is strict: a JSON string is never coerced into a number or a boolean, so a
    contract means what it says. Values that JSON has no native type for (UUID, datetime,
    Decimal, Enum) are still read from their usual JSON representation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class HttpSuccessEnvelope(BaseModel, Generic[T]):
    """The body of a successful answer: the payload under `data`, free-form `meta` beside it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: T
    meta: dict[str, Any] = Field(default_factory=dict)


def wrap_http_success(payload: T, meta: dict[str, Any] | None = None) -> HttpSuccessEnvelope[T]:
    """Wrap `payload` in the success envelope, with `meta` (pagination, links...) if given."""
    return HttpSuccessEnvelope[T](data=payload, meta=dict(meta) if meta else {})

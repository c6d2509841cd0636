"""`StrictSchema` and the `HttpSuccessEnvelope` that wraps successful JSON answers."""

from __future__ import annotations

import re
import typing
from typing import Any, ClassVar, Generic, Literal, Self

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema
from typing_extensions import TypeVar

T = TypeVar("T")
M = TypeVar("M", default=dict[str, Any] | None)


def _integral_float_to_int(value: Any) -> Any:
    """``3.0`` -> ``3``: JSON Schema's ``integer`` is any number without a fraction."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def _accept_integral_floats(schema: Any) -> Any:
    """`schema` with every ``int`` node also accepting integral JSON numbers.

    Walks the model's own core schema once, when the class is built: lists, dicts, unions and
    optional fields are covered. Nested models appear here as references to their own
    schemas, so they keep their own rule.
    """
    if isinstance(schema, list):
        return [_accept_integral_floats(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    walked = {key: _accept_integral_floats(value) for key, value in schema.items()}
    if walked.get("type") == "int":
        return core_schema.no_info_before_validator_function(_integral_float_to_int, walked)
    return walked


class StrictSchema(BaseModel):
    """Base class for wire contracts: unknown fields are rejected and instances are immutable.

    Validation is strict, with one rule for numbers (see docs/http.md): an ``int`` field
    accepts a JSON number without a fraction (``3`` or ``3.0``, as JSON Schema's
    ``integer`` does) and refuses strings (``"3"``), fractions (``3.5``) and booleans. A
    ``float`` field accepts any JSON number. Values that JSON has no native type for (UUID,
    datetime, Decimal, Enum) are read from their usual JSON representation. Leading and
    trailing whitespace of strings is stripped; fields with an alias are also accepted under
    their Python name.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        str_strip_whitespace=True,
        populate_by_name=True,
    )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        """The model's schema, with the integral-number rule applied to its ``int`` fields."""
        return typing.cast("CoreSchema", _accept_integral_floats(handler(source)))

    def with_changes(self, **changes: Any) -> Self:
        """A validated copy with `changes` applied; the instance itself never changes.

        Raises:
            pydantic.ValidationError: A changed value is not valid for its field, or a
                name is not a field.
        """
        return self.model_validate({**self.model_dump(by_alias=False), **changes})


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return (_type_name(args[0]) if args else "Any") + "List"
    if origin is dict or annotation is dict:
        return "Object"
    if isinstance(annotation, type):
        return annotation.__name__[:1].upper() + annotation.__name__[1:]
    return re.sub(r"[^0-9A-Za-z]", "", repr(annotation).title()) or "Any"


def _typed_meta_has_no_null_default(schema: dict[str, Any]) -> None:
    """A typed `meta` (``PageMeta``) is always sent: its schema must not say ``default: null``."""
    meta = schema.get("properties", {}).get("meta", {})
    if "default" in meta and meta["default"] is None and "anyOf" not in meta:
        del meta["default"]


class HttpSuccessEnvelope(BaseModel, Generic[T, M]):
    """The body of a successful answer: ``{"success": true, "data": ..., "meta": ...}``.

    `meta` is ``null`` when the route has nothing to add; ``HttpSuccessEnvelope[T, PageMeta]``
    types it (pagination, links...), so the OpenAPI document and generated clients know it.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_serialization_defaults_required=True,
        json_schema_extra=_typed_meta_has_no_null_default,
    )

    success: Literal[True] = True
    data: T
    meta: M = None  # type: ignore[assignment]

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """``ItemEnvelope``, ``ItemListPageMetaEnvelope``: stable names for OpenAPI components."""
        data = _type_name(params[0])
        meta = params[1] if len(params) > 1 else None
        if meta is None or meta == dict[str, Any] | None:
            return f"{data}Envelope"
        return f"{data}{_type_name(typing.cast('Any', meta))}Envelope"


class PageMeta(StrictSchema):
    """The `meta` of a keyset page: the cursor of the next page, ``null`` on the last one."""

    next_cursor: str | None = None


# Subscripting a generic model looks the class up in pydantic's cache each time (about 20k
# instructions): the one `wrap_http_success` builds is looked up once.
ANY_ENVELOPE: Any = HttpSuccessEnvelope[T, Any]  # type: ignore[valid-type]
# `model_construct`'s recipe with the slots' own setters: both fields are `Any`, so validation
# has nothing to check, and this costs about a quarter less than the validator (ADR 0074).
_new_envelope = ANY_ENVELOPE.__new__
_set_values, _set_fields_set, _set_extra, _set_private = (
    BaseModel.__dict__[name].__set__
    for name in (
        "__dict__",
        "__pydantic_fields_set__",
        "__pydantic_extra__",
        "__pydantic_private__",
    )
)


def wrap_http_success(payload: T, meta: Any = None) -> HttpSuccessEnvelope[T, Any]:
    """Wrap `payload` in the success envelope, with `meta` (a model or a dict) if given.

    The instance is the one ``HttpSuccessEnvelope[T, Any](data=payload, meta=meta)`` builds
    (same fields, same fields set, frozen), without a validation pass over two `Any` fields.
    """
    envelope: HttpSuccessEnvelope[T, Any] = _new_envelope(ANY_ENVELOPE)
    _set_values(envelope, {"success": True, "data": payload, "meta": meta})
    _set_fields_set(envelope, {"data", "meta"})
    _set_extra(envelope, None)
    _set_private(envelope, None)
    return envelope

"""Message codecs at run time: a model instance to a message, a parsed message to a dict.

`ProtoSchema` (`_protobuf`) builds one `MessageCodec` per model when the server starts; per
call, encoding walks the model's fields once and decoding checks unknown fields, presence
and nesting, producing the dict the model validates. Struct and Value fields carry
free-form JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python

from mic._deps import require

require("grpc", "grpc")  # checked first: a missing extra is reported as grpcio
require("google.protobuf", "grpc")

from google.protobuf.message import Message  # noqa: E402
from google.protobuf.unknown_fields import UnknownFieldSet  # noqa: E402

# Field kinds, for the per-message encoders and decoders.
SCALAR, MESSAGE, REPEATED, REPEATED_MESSAGE, MAP, MAP_MESSAGE, STRUCT, VALUE = range(8)

Encode = Callable[[Any], Any]
Decode = Callable[[Any], Any]


class MalformedMessageError(ValueError):
    """The request bytes are not a valid message of the expected type."""


class UnknownFieldsError(ValueError):
    """The request carries fields its model does not declare (and the model forbids extras).

    Attributes:
        locations: Each unknown field, as a path of field names ending in its number.
    """

    def __init__(self, locations: list[list[str | int]]) -> None:
        super().__init__("unknown fields")
        self.locations = locations


def identity(value: Any) -> Any:
    return value


def to_value(value: Any) -> dict[str, Any]:
    """A JSON-like python value as the keyword arguments of a ``google.protobuf.Value``."""
    value = to_jsonable_python(value)
    if value is None:
        return {"null_value": 0}
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, int | float):
        return {"number_value": float(value)}
    if isinstance(value, str):
        return {"string_value": value}
    # protobuf converts nested dicts and lists into Struct and ListValue itself.
    return {"struct_value": value} if isinstance(value, dict) else {"list_value": value}


def from_value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        # JSON has one number type; integral values come back as int, as from JSON.
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "struct_value":
        return from_struct(value.struct_value)
    if kind == "list_value":
        return [from_value(v) for v in value.list_value.values]
    if kind in ("string_value", "bool_value"):
        return getattr(value, kind)
    return None


def from_struct(struct: Any) -> dict[str, Any]:
    return {key: from_value(value) for key, value in struct.fields.items()}


def to_struct(value: Any) -> Any:
    return to_jsonable_python(value)


@dataclass(slots=True)
class Field:
    name: str
    number: int
    kind: int
    encode: Encode
    decode: Decode
    required: bool


class MessageCodec:
    """Encoder and decoder of one message, filled in once its fields are resolved."""

    def __init__(self, full_name: str, forbid_extra: bool) -> None:
        self.full_name = full_name
        self.forbid_extra = forbid_extra
        self.fields: list[Field] = []
        self.message_class: type[Message] | None = None

    def to_kwargs(self, model: Any) -> dict[str, Any]:
        """A model instance as the keyword arguments of its message (nested as dicts)."""
        kwargs: dict[str, Any] = {}
        for field in self.fields:
            value = getattr(model, field.name)
            if value is not None:
                kwargs[field.name] = field.encode(value)
        return kwargs

    def to_dict(self, message: Any, where: tuple[str, ...] = ()) -> dict[str, Any]:
        """A parsed message as the dict its model validates; unknown fields are refused."""
        if self.forbid_extra and len(UnknownFieldSet(message)):
            raise UnknownFieldsError(
                [[*where, item.field_number] for item in UnknownFieldSet(message)]
            )
        data: dict[str, Any] = {}
        for field in self.fields:
            kind, name = field.kind, field.name
            if kind in (SCALAR, STRUCT, VALUE):
                if message.HasField(name):
                    data[name] = field.decode(getattr(message, name))
            elif kind == MESSAGE:
                if message.HasField(name):
                    data[name] = field.decode((getattr(message, name), (*where, name)))
            else:
                values = getattr(message, name)
                # Repeated fields have no presence: empty is the default, or [] when required.
                if values or field.required:
                    data[name] = field.decode((values, (*where, name)))
        return data

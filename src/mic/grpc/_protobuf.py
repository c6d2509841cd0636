"""Protobuf messages generated from pydantic models, at startup, and the ``.proto`` they make.

Each model becomes a message whose fields follow the model's fields in declaration order
(numbers 1, 2, 3...). Singular scalars are proto3 ``optional`` (explicit presence), so a
missing required field is told apart from a zero value. Types map as ADR 0120 lists;
anything else fails at build time with the model and field named. Message classes come
from a private `DescriptorPool`: no code generation step, and `proto_files` renders the
same descriptors as ``.proto`` text that ``protoc`` compiles to identical descriptors.
"""

from __future__ import annotations

import collections.abc
import enum
import re
import types
import typing
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

from mic._deps import require
from mic.grpc._contract import MethodContract
from mic.grpc._specs import GrpcServiceSpec, GrpcSpecError

require("grpc", "grpc")  # checked first: a missing extra is reported as grpcio
require("google.protobuf", "grpc")

from google.protobuf import (  # noqa: E402
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    struct_pb2,
)
from google.protobuf.message import DecodeError, Message  # noqa: E402

from mic.grpc._messages import (  # noqa: E402
    MAP,
    MAP_MESSAGE,
    MESSAGE,
    REPEATED,
    REPEATED_MESSAGE,
    SCALAR,
    STRUCT,
    VALUE,
    Decode,
    Encode,
    Field,
    MalformedMessageError,
    MessageCodec,
    from_struct,
    from_value,
    identity,
    to_struct,
    to_value,
)

FieldProto: Any = descriptor_pb2.FieldDescriptorProto
_STRUCT_FILE = "google/protobuf/struct.proto"
_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set)
_MAPPINGS = (dict, collections.abc.Mapping)
_NATIVE = {
    str: FieldProto.TYPE_STRING,
    bytes: FieldProto.TYPE_BYTES,
    bool: FieldProto.TYPE_BOOL,
    int: FieldProto.TYPE_INT64,
    float: FieldProto.TYPE_DOUBLE,
}
_BY_JSON_TYPE = {
    "string": FieldProto.TYPE_STRING,
    "integer": FieldProto.TYPE_INT64,
    "number": FieldProto.TYPE_DOUBLE,
    "boolean": FieldProto.TYPE_BOOL,
}
_MAP_KEYS = frozenset({FieldProto.TYPE_STRING, FieldProto.TYPE_INT64, FieldProto.TYPE_BOOL})


def _strip(annotation: Any) -> tuple[Any, bool]:
    """`annotation` without `Annotated` metadata and without ``| None``; and whether it had it."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(args) < len(get_args(annotation)):
            inner, _ = _strip(args[0])
            return inner, True
    return annotation, False


@dataclass(slots=True)
class _Leaf:
    """A scalar field type: its protobuf type and how a model value becomes a wire value."""

    proto_type: int
    encode: Encode


class ProtoSchema:
    """Messages for every model of some services, in one private descriptor pool.

    Args:
        contracts: The compiled methods of the services.

    Raises:
        GrpcSpecError: A model has a field protobuf cannot carry, or two different models
            share a message name in one package.
    """

    def __init__(self, services: Iterable[tuple[GrpcServiceSpec, list[MethodContract]]]) -> None:
        self.pool = descriptor_pool.DescriptorPool()
        self.files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        self._codecs: dict[type[BaseModel], MessageCodec] = {}
        self._names: dict[str, type[BaseModel]] = {}
        self._pending: list[tuple[type[BaseModel], descriptor_pb2.DescriptorProto]] = []
        self._uses_struct: set[str] = set()
        self._struct_added = False
        self._package = ""
        grouped: dict[str, list[tuple[GrpcServiceSpec, list[MethodContract]]]] = {}
        for service, contracts in services:
            grouped.setdefault(service.package, []).append((service, contracts))
        for package, members in grouped.items():
            self._build_file(package, members)

    def encode(self, model: type[BaseModel], instance: BaseModel) -> bytes:
        """Serialize a model instance as its message."""
        codec = self._codecs[model]
        message_class = typing.cast("type[Message]", codec.message_class)
        data: bytes = message_class(**codec.to_kwargs(instance)).SerializeToString()
        return data

    def decode(self, model: type[BaseModel], data: bytes) -> dict[str, Any]:
        """Parse bytes of a model's message into the dict the model validates.

        Raises:
            MalformedMessageError: Not a valid message of this type.
            UnknownFieldsError: Fields the model does not declare (when it forbids extras).
        """
        codec = self._codecs[model]
        message_class = typing.cast("type[Message]", codec.message_class)
        try:
            message = message_class.FromString(data)
        except DecodeError as exc:
            raise MalformedMessageError(str(exc)) from exc
        return codec.to_dict(message)

    def _build_file(
        self, package: str, members: list[tuple[GrpcServiceSpec, list[MethodContract]]]
    ) -> None:
        name = package.replace(".", "/") + ".proto"
        file = descriptor_pb2.FileDescriptorProto(name=name, package=package, syntax="proto3")
        self._package = package
        for service, contracts in members:
            service_proto = file.service.add(name=service.name)
            for contract in contracts:
                request = self._register(contract.request_model, file)
                response = self._register(contract.response_model, file)
                method = service_proto.method.add(
                    name=contract.spec.name, input_type=request, output_type=response
                )
                if contract.spec.server_streaming:
                    method.server_streaming = True
        while self._pending:
            model, message = self._pending.pop(0)
            self._fill_message(model, message, file)
        if name in self._uses_struct:
            file.dependency.append(_STRUCT_FILE)
            if not self._struct_added:
                self.pool.AddSerializedFile(struct_pb2.DESCRIPTOR.serialized_pb)
                self._struct_added = True
        try:
            self.pool.Add(file)
        except (TypeError, ValueError) as exc:
            raise GrpcSpecError(f"package {package!r}: the messages do not build: {exc}") from exc
        self.files[name] = file
        for codec in self._codecs.values():
            if codec.message_class is None:
                descriptor = self.pool.FindMessageTypeByName(codec.full_name)
                codec.message_class = message_factory.GetMessageClass(descriptor)

    def _message_name(self, model: type[BaseModel]) -> str:
        name = re.sub(r"[^A-Za-z0-9_]+", "_", model.__name__).strip("_")
        return name if name[:1].isalpha() else f"M{name}"

    def _register(self, model: type[BaseModel], file: descriptor_pb2.FileDescriptorProto) -> str:
        """The full (dotted, leading dot) name of `model`'s message, declaring it if new."""
        if model in self._codecs:
            return "." + self._codecs[model].full_name
        full_name = f"{self._package}.{self._message_name(model)}"
        other = self._names.get(full_name)
        if other is not None and other is not model:
            raise GrpcSpecError(
                f"two models are both message {full_name!r}: {other.__module__}."
                f"{other.__qualname__} and {model.__module__}.{model.__qualname__}; rename one"
            )
        self._names[full_name] = model
        forbid = model.model_config.get("extra") == "forbid"
        self._codecs[model] = MessageCodec(full_name, forbid)
        message = file.message_type.add(name=full_name.rpartition(".")[2])
        self._pending.append((model, message))
        return "." + full_name

    def _fill_message(
        self,
        model: type[BaseModel],
        message: descriptor_pb2.DescriptorProto,
        file: descriptor_pb2.FileDescriptorProto,
    ) -> None:
        codec = self._codecs[model]
        synthetic_oneofs: list[str] = []
        for number, (name, info) in enumerate(model.model_fields.items(), start=1):
            where = f"{model.__qualname__}.{name}"
            # Constraints (in `info.metadata`) are checked by pydantic, not by protobuf.
            field = message.field.add(name=name, number=number)
            kind, encode, decode = self._describe(info.annotation, field, message, file, where)
            if field.label == FieldProto.LABEL_OPTIONAL and field.type != FieldProto.TYPE_MESSAGE:
                # proto3 `optional`: explicit presence through a synthetic one-of (protoc's way).
                field.proto3_optional = True
                synthetic_oneofs.append(name)
            codec.fields.append(Field(name, number, kind, encode, decode, info.is_required()))
        for index, name in enumerate(synthetic_oneofs):
            message.oneof_decl.add(name=f"_{name}")
            next(f for f in message.field if f.name == name).oneof_index = index

    def _leaf(self, annotation: Any, where: str) -> _Leaf:
        inner, _ = _strip(annotation)
        if inner in _NATIVE:
            return _Leaf(_NATIVE[inner], identity)
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(annotation)
            schema = adapter.json_schema(mode="serialization")
        except Exception as exc:
            raise GrpcSpecError(f"{where}: unsupported type {annotation!r}: {exc}") from exc
        if "$ref" in schema:
            schema = schema.get("$defs", {}).get(schema["$ref"].rpartition("/")[2], {})
        proto_type = _BY_JSON_TYPE.get(schema.get("type", ""))
        if proto_type is None:
            raise GrpcSpecError(
                f"{where}: {annotation!r} has no protobuf mapping (a union, an object that is "
                "not a pydantic model, ...); change the type or use wire='json'"
            )
        if (
            isinstance(inner, type)
            and issubclass(inner, bool | int | float | str)
            and not issubclass(inner, enum.Enum)
        ):
            return _Leaf(proto_type, identity)

        if inner in (Decimal, uuid.UUID):
            # pydantic writes both as str(value); calling str directly is ~10x cheaper.
            return _Leaf(proto_type, str)

        def encode(value: Any) -> Any:
            return adapter.dump_python(value, mode="json")

        return _Leaf(proto_type, encode)

    def _describe(
        self,
        annotation: Any,
        field: Any,
        message: descriptor_pb2.DescriptorProto,
        file: descriptor_pb2.FileDescriptorProto,
        where: str,
    ) -> tuple[int, Encode, Decode]:
        inner, _ = _strip(annotation)  # presence: proto3 `optional`, set by the caller
        origin = get_origin(inner)
        field.label = FieldProto.LABEL_OPTIONAL
        if (
            inner is Any
            or (inner in _MAPPINGS)
            or (
                origin in _MAPPINGS
                and _strip(get_args(inner)[1])[0] is Any
                and _strip(get_args(inner)[0])[0] is str
            )
        ):
            return self._json_field(inner, field, file)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            field.type, field.type_name = FieldProto.TYPE_MESSAGE, self._register(inner, file)
            codec = self._codecs[inner]
            return MESSAGE, codec.to_kwargs, lambda pair: codec.to_dict(pair[0], pair[1])
        if origin in _SEQUENCES:
            return self._repeated(inner, field, message, file, where)
        if origin in _MAPPINGS:
            return self._map(inner, field, message, file, where)
        leaf = self._leaf(inner, where)
        field.type = leaf.proto_type
        return SCALAR, leaf.encode, identity

    def _json_field(
        self, inner: Any, field: Any, file: descriptor_pb2.FileDescriptorProto
    ) -> tuple[int, Encode, Decode]:
        self._uses_struct.add(file.name)
        field.type = FieldProto.TYPE_MESSAGE
        if inner is Any:
            field.type_name = ".google.protobuf.Value"
            return VALUE, to_value, from_value
        field.type_name = ".google.protobuf.Struct"
        return STRUCT, to_struct, from_struct

    def _item(
        self, annotation: Any, file: descriptor_pb2.FileDescriptorProto, where: str
    ) -> tuple[int, str, Encode, Callable[..., Any] | None]:
        """A repeated item or map value: (type, type name, encode, message decode or None)."""
        inner, optional = _strip(annotation)
        if optional:
            raise GrpcSpecError(f"{where}: protobuf lists and maps cannot hold None")
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            type_name = self._register(inner, file)
            codec = self._codecs[inner]
            return FieldProto.TYPE_MESSAGE, type_name, codec.to_kwargs, codec.to_dict
        if inner is Any:
            raise GrpcSpecError(
                f"{where}: lists and maps of Any have no protobuf mapping; use a model, "
                "dict[str, Any] for the whole value, or wire='json'"
            )
        if get_origin(inner) in _SEQUENCES or get_origin(inner) in _MAPPINGS:
            raise GrpcSpecError(
                f"{where}: nested lists or maps have no protobuf mapping; wrap the inner one "
                "in a model, or use wire='json'"
            )
        leaf = self._leaf(inner, where)
        return leaf.proto_type, "", leaf.encode, None

    def _repeated(
        self,
        inner: Any,
        field: Any,
        message: descriptor_pb2.DescriptorProto,
        file: descriptor_pb2.FileDescriptorProto,
        where: str,
    ) -> tuple[int, Encode, Decode]:
        args = get_args(inner)
        if not (len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis)):
            raise GrpcSpecError(f"{where}: only homogeneous tuples (tuple[X, ...]) are supported")
        field.label = FieldProto.LABEL_REPEATED
        proto_type, type_name, encode, decode_message = self._item(args[0], file, where)
        field.type = proto_type
        if type_name:
            field.type_name = type_name
        if decode_message is not None:
            item_decode = decode_message
            return (
                REPEATED_MESSAGE,
                lambda values: [encode(v) for v in values],
                lambda pair: [item_decode(v, (*pair[1], i)) for i, v in enumerate(pair[0])],
            )
        if encode is identity:
            return REPEATED, list, lambda pair: list(pair[0])
        return REPEATED, lambda values: [encode(v) for v in values], lambda p: list(p[0])

    def _map(
        self,
        inner: Any,
        field: Any,
        message: descriptor_pb2.DescriptorProto,
        file: descriptor_pb2.FileDescriptorProto,
        where: str,
    ) -> tuple[int, Encode, Decode]:
        args = get_args(inner)
        if len(args) != 2:
            raise GrpcSpecError(f"{where}: a mapping needs key and value types")
        key = self._leaf(args[0], where)
        if key.proto_type not in _MAP_KEYS or key.encode is not identity:
            raise GrpcSpecError(f"{where}: protobuf map keys are str, int or bool")
        proto_type, type_name, encode, decode_message = self._item(args[1], file, where)
        entry_name = "".join(p[:1].upper() + p[1:] for p in field.name.split("_")) + "Entry"
        entry = message.nested_type.add(name=entry_name)
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=key.proto_type, label=FieldProto.LABEL_OPTIONAL)
        value = entry.field.add(
            name="value", number=2, type=proto_type, label=FieldProto.LABEL_OPTIONAL
        )
        if type_name:
            value.type_name = type_name
        parent = f"{self._package}.{message.name}"
        field.label = FieldProto.LABEL_REPEATED
        field.type = FieldProto.TYPE_MESSAGE
        field.type_name = f".{parent}.{entry_name}"
        if decode_message is not None:
            item_decode = decode_message
            return (
                MAP_MESSAGE,
                lambda values: {k: encode(v) for k, v in values.items()},
                lambda pair: {k: item_decode(v, (*pair[1], k)) for k, v in pair[0].items()},
            )
        return (
            MAP,
            (
                dict
                if encode is identity
                else lambda values: {k: encode(v) for k, v in values.items()}
            ),
            lambda pair: dict(pair[0]),
        )

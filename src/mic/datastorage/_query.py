"""Validation of filters, orderings and cursors against a model, shared by every backend.

Everything a caller passes to `list`/`count` is checked here before a backend sees it, so a
bad field name or value is a 422 and never reaches SQL.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, PydanticUserError, TypeAdapter, ValidationError

from mic.datastorage._base import Filter, Filters, StorageOptions
from mic.model import ValidationFailedError

T = TypeVar("T")
V = TypeVar("V", bound=Mapping[str, Any])


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One validated ordering key."""

    field: str
    descending: bool


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A validated `list` call: filters, ordering (ending with ``id``), limit, cursor values."""

    filters: tuple[Filter, ...]
    order: tuple[OrderKey, ...]
    limit: int
    after: tuple[Any, ...] | None


def _invalid(code: str, message: str, **details: Any) -> ValidationFailedError:
    return ValidationFailedError(code, message, details)


class ModelSchema:
    """What a storage knows about its model: field names, value adapters, nullability."""

    def __init__(self, model: type[BaseModel], options: StorageOptions) -> None:
        fields = model.model_fields
        for required in ("id", "version"):
            if required not in fields:
                raise TypeError(f"{model.__name__} needs an {required!r} field to be stored")
        self.model = model
        self.options = options
        self.adapters: dict[str, TypeAdapter[Any]] = {
            name: TypeAdapter(info.annotation if info.annotation is not None else Any)
            for name, info in fields.items()
        }
        self.nullable = frozenset(
            name for name, adapter in self.adapters.items() if _accepts_none(adapter)
        )
        # Lists and objects have no order (PostgreSQL's json type not even equality), so
        # they are neither filtered nor ordered on, on any backend.
        self.comparable = frozenset(
            name for name, adapter in self.adapters.items() if _is_scalar(adapter)
        )
        if "id" in self.nullable:
            raise TypeError(f"{model.__name__}.id must not be optional: the storage keys by it")

    def validate_id(self, record_id: Any) -> Any:
        """`record_id` converted to the id field's type.

        Raises:
            ValidationFailedError: It cannot be.
        """
        return self._value("id", record_id)

    def validate_version(self, version: Any) -> int | None:
        """`version` (of a versioned delete) as an integer, or ``None``.

        Raises:
            ValidationFailedError: It is not an integer.
        """
        if version is None:
            return None
        if isinstance(version, bool) or not isinstance(version, int):
            raise _invalid("invalid_value", "the version must be an integer", field="version")
        return version

    def _value(self, name: str, value: Any) -> Any:
        try:
            checked = self.adapters[name].validate_python(value)
        except ValidationError as exc:
            raise _invalid(
                "invalid_value",
                f"invalid value for field {name!r}",
                field=name,
                errors=[e["msg"] for e in exc.errors(include_url=False, include_input=False)],
            ) from None
        if not _storable(checked):
            # The same 422 on every backend, rather than a driver error on SQL only.
            raise _invalid(
                "invalid_value",
                f"invalid value for field {name!r}: beyond 64-bit integers or not UTF-8",
                field=name,
            )
        return checked

    def filters(self, filters: Filters) -> tuple[Filter, ...]:
        """Filters with known fields and values of the field's type.

        Raises:
            ValidationFailedError: Unknown field, wrong value type, or misuse of ``in``/None.
        """
        if isinstance(filters, Mapping):
            filters = [Filter(name, "eq", value) for name, value in filters.items()]
        elif isinstance(filters, str | bytes) or not isinstance(filters, Sequence):
            raise _invalid("invalid_filter", "filters must be a list of Filter or a mapping")
        return tuple(self._filter(item) for item in filters)

    def _filter(self, item: Any) -> Filter:
        if not isinstance(item, Filter):
            raise _invalid("invalid_filter", f"not a Filter: {type(item).__name__}")
        if item.field not in self.adapters:
            raise _invalid(
                "unknown_field",
                f"unknown filter field {item.field!r}",
                field=item.field,
                allowed=sorted(self.adapters),
            )
        if item.field not in self.comparable:
            raise _invalid(
                "invalid_filter",
                f"cannot filter on field {item.field!r}: it holds lists or objects",
                field=item.field,
            )
        if item.op == "in":
            if isinstance(item.value, str | bytes) or not isinstance(item.value, Sequence | set):
                raise _invalid(
                    "invalid_value", "the 'in' operator needs a list of values", field=item.field
                )
            most = self.options.max_filter_values
            if len(item.value) > most:
                raise _invalid(
                    "invalid_value",
                    f"the 'in' operator takes at most {most} values",
                    field=item.field,
                    max_filter_values=most,
                )
            if any(v is None for v in item.value):
                raise _invalid(
                    "invalid_value", "the 'in' operator does not accept null", field=item.field
                )
            values = tuple(self._value(item.field, v) for v in item.value)
            return Filter(item.field, "in", values)
        if item.value is None and item.op not in ("eq", "ne"):
            raise _invalid(
                "invalid_value", f"null only works with eq or ne, not {item.op}", field=item.field
            )
        value = None if item.value is None else self._value(item.field, item.value)
        return Filter(item.field, item.op, value)

    def order(self, order_by: Sequence[str]) -> tuple[OrderKey, ...]:
        """Ordering keys, always ending with ``id`` as the tie-breaker.

        Raises:
            ValidationFailedError: Unknown, repeated or nullable field.
        """
        if isinstance(order_by, str):
            order_by = (order_by,)
        if not isinstance(order_by, Sequence) or not all(isinstance(r, str) for r in order_by):
            raise _invalid("invalid_order", "order_by must be a list of field names")
        keys: list[OrderKey] = []
        for raw in order_by:
            name = raw[1:] if raw.startswith("-") else raw
            if name not in self.adapters:
                raise _invalid(
                    "unknown_field",
                    f"unknown order field {name!r}",
                    field=name,
                    allowed=sorted(self.adapters),
                )
            if name not in self.comparable:
                raise _invalid(
                    "invalid_order",
                    f"cannot order on field {name!r}: it holds lists or objects",
                    field=name,
                )
            if name in self.nullable:
                raise _invalid(
                    "invalid_order", f"cannot order on nullable field {name!r}", field=name
                )
            if any(k.field == name for k in keys):
                raise _invalid(
                    "invalid_order", f"field {name!r} appears twice in the order", field=name
                )
            keys.append(OrderKey(name, raw.startswith("-")))
            if name == "id":
                break  # id is unique: later keys could never change the order
        if not any(k.field == "id" for k in keys):
            keys.append(OrderKey("id", descending=False))
        return tuple(keys)

    def list_query(
        self, filters: Filters, order_by: Sequence[str], limit: int | None, cursor: str | None
    ) -> ListQuery:
        """Validate a whole `list` call."""
        max_size = self.options.max_page_size
        size = self.options.default_page_size if limit is None else limit
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= max_size:
            raise _invalid(
                "invalid_limit",
                f"limit must be an integer between 1 and {max_size}",
                max_page_size=max_size,
            )
        order = self.order(order_by)
        after = None if cursor is None else self.decode_cursor(cursor, order)
        return ListQuery(self.filters(filters), order, size, after)

    def encode_cursor(self, order: tuple[OrderKey, ...], record: BaseModel) -> str:
        """The opaque cursor pointing just after `record` in `order`."""
        spec = [("-" if k.descending else "") + k.field for k in order]
        values = [
            self.adapters[k.field].dump_python(getattr(record, k.field), mode="json") for k in order
        ]
        raw = json.dumps([spec, values], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def decode_cursor(self, cursor: str, order: tuple[OrderKey, ...]) -> tuple[Any, ...]:
        """The ordering values a cursor carries.

        Raises:
            ValidationFailedError: The cursor is malformed or was made for another order.
        """
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            spec, values = json.loads(raw)
        except (ValueError, TypeError, binascii.Error, RecursionError):
            raise _invalid("invalid_cursor", "the cursor is not valid") from None
        expected = [("-" if k.descending else "") + k.field for k in order]
        if spec != expected or not isinstance(values, list) or len(values) != len(order):
            raise _invalid("invalid_cursor", "the cursor was made for another order")
        try:
            return tuple(
                self.adapters[k.field].validate_python(v)
                for k, v in zip(order, values, strict=True)
            )
        except ValidationError:
            raise _invalid("invalid_cursor", "the cursor is not valid") from None


def checked_record(load: Callable[[V], T], values: V) -> T:
    """`load(values)`: the record a write hands back, built before anything is written.

    A table model is not validated when it is constructed (SQLModel skips it, and
    `model_construct` always does), so an invalid record is refused here, before it is
    stored, rather than stored and then failing to load.

    Raises:
        ValidationFailedError: A value does not fit the model (``details["errors"]``).
    """
    try:
        return load(values)
    except ValidationError as exc:
        raise _invalid(
            "invalid_record",
            "the record is not valid for its model",
            errors=[
                {"field": ".".join(str(part) for part in e["loc"]), "msg": e["msg"]}
                for e in exc.errors(include_url=False, include_input=False)
            ],
        ) from None


def _storable(value: Any) -> bool:
    """Whether every database can bind `value`: 64-bit integers, UTF-8 encodable text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return bool(-(2**63) <= value < 2**63)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


_SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean", "null"})


def _is_scalar(adapter: TypeAdapter[Any]) -> bool:
    """Whether a field's values are scalars (comparable and orderable in SQL and Python)."""
    try:
        schema = adapter.json_schema()
    except PydanticUserError:  # a type pydantic cannot describe: assume the worst
        return False
    return _scalar_schema(schema, schema.get("$defs", {}))


def _scalar_schema(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> bool:
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1])
        return target is not None and _scalar_schema(target, defs)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return all(_scalar_schema(branch, defs) for branch in schema[key])
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return all(v is None or isinstance(v, str | int | float) for v in values)
    return schema.get("type") in _SCALAR_TYPES


def _accepts_none(adapter: TypeAdapter[Any]) -> bool:
    try:
        adapter.validate_python(None)
    except ValidationError:
        return False
    return True


def _compare(op: str, left: Any, right: Any) -> bool:
    # SQL semantics: a NULL never satisfies an ordering comparison.
    if left is None:
        return False
    if op == "lt":
        return bool(left < right)
    if op == "le":
        return bool(left <= right)
    if op == "gt":
        return bool(left > right)
    return bool(left >= right)


def matches(row: Mapping[str, Any], filters: tuple[Filter, ...]) -> bool:
    """Whether a stored row satisfies every (validated) filter, with SQL NULL semantics."""
    for item in filters:
        value = row[item.field]
        if item.op == "eq":
            ok = value == item.value if item.value is not None else value is None
        elif item.op == "ne":
            ok = value != item.value  # like SQL IS DISTINCT FROM
        elif item.op == "in":
            ok = value in item.value
        else:
            ok = _compare(item.op, value, item.value)
        if not ok:
            return False
    return True


def after_cursor(
    row: Mapping[str, Any], order: tuple[OrderKey, ...], after: tuple[Any, ...]
) -> bool:
    """Whether `row` comes strictly after the cursor position (the keyset predicate)."""
    for key, bound in zip(order, after, strict=True):
        value = row[key.field]
        if value != bound:
            return bool(value < bound) if key.descending else bool(value > bound)
    return False


def sort_rows(rows: list[dict[str, Any]], order: tuple[OrderKey, ...]) -> None:
    """Sort rows in place by `order` (stable sorts, last key first)."""
    for key in reversed(order):
        rows.sort(key=_field_getter(key.field), reverse=key.descending)


def _field_getter(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row[name]

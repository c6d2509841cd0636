"""JSON Schema compatibility, in the direction data flows (shared by OpenAPI and AsyncAPI).

Data a client *sends* (a request body, a parameter, a message it publishes) breaks when the
new schema accepts less than the old one (a narrowed type, a new required field). Data a
client *receives* (a response, a message it consumes) breaks when the new schema may produce
what the old one never did (a removed or optional field, a new enum value, a wider type).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from mic.diff._model import BREAKING, COMPATIBLE, Change, escape

Direction = Literal["request", "response"]

_UPPER: Final = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_LOWER: Final = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_EXACT: Final = ("pattern", "multipleOf")
_MAX_DEPTH: Final = 64


def resolve_pointer(document: Mapping[str, Any], reference: str) -> tuple[Any, str]:
    """The value a local ``$ref`` (``#/components/schemas/Item``) names, and its pointer.

    Raises:
        KeyError: The reference is not local or names nothing.
    """
    if not reference.startswith("#"):
        raise KeyError(f"only local references are supported, not {reference!r}")
    value: Any = document
    pointer = reference[1:]
    for raw in (token for token in pointer.split("/")[1:]):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list):
            value = value[int(token)]
        elif isinstance(value, Mapping) and token in value:
            value = value[token]
        else:
            raise KeyError(f"reference {reference!r} names nothing")
    return value, pointer


def resolve_object(document: Mapping[str, Any], value: Any) -> Any:
    """`value` with local ``$ref``s followed; ``{}`` for a broken or looping reference."""
    seen: set[str] = set()
    while isinstance(value, Mapping) and isinstance(value.get("$ref"), str):
        if value["$ref"] in seen:
            return {}
        seen.add(value["$ref"])
        try:
            value, _ = resolve_pointer(document, value["$ref"])
        except (KeyError, IndexError, ValueError):
            return {}
    return value if isinstance(value, Mapping) else {}


@dataclass(slots=True)
class _View:
    """A schema reduced to what compatibility depends on."""

    types: frozenset[str] | None
    enum: tuple[Any, ...] | None
    properties: dict[str, Any]
    required: frozenset[str]
    additional: Any
    items: Any
    variants: tuple[str, list[Any]] | None
    constraints: dict[str, Any] = field(default_factory=dict)
    format: str | None = None


def _types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    declared = schema.get("type")
    if declared is None:
        if "properties" in schema or "additionalProperties" in schema:
            found: set[str] = {"object"}
        elif "items" in schema:
            found = {"array"}
        else:
            return None
    else:
        found = set(declared) if isinstance(declared, list) else {str(declared)}
    if schema.get("nullable") is True:  # OpenAPI 3.0
        found.add("null")
    return frozenset(found)


def _accepts(wider: frozenset[str] | None, narrower: frozenset[str] | None) -> bool:
    """Whether every value of type `narrower` is of type `wider` (``None``: any type)."""
    if wider is None:
        return True
    if narrower is None:
        return False
    return all(t in wider or (t == "integer" and "number" in wider) for t in narrower)


def _enum(schema: Mapping[str, Any]) -> tuple[Any, ...] | None:
    if "const" in schema:
        return (schema["const"],)
    values = schema.get("enum")
    return tuple(values) if isinstance(values, list) else None


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


class SchemaComparer:
    """Compares schemas of two documents, following local ``$ref``s in each, cycle-safe.

    Args:
        old: The old document (its ``$ref``s resolve in it).
        new: The new document.
        emit: Receives each `Change` found.
    """

    def __init__(
        self, old: Mapping[str, Any], new: Mapping[str, Any], emit: Callable[[Change], None]
    ) -> None:
        self.old, self.new, self.emit = old, new, emit

    def compare(
        self, old: Any, new: Any, *, pointer: str, location: str, direction: Direction
    ) -> None:
        """Report every change between the `old` and `new` schemas for data in `direction`."""
        self._compare(
            old, new, pointer, location=location, direction=direction, visited=set(), depth=0
        )

    def _deref(self, document: Mapping[str, Any], schema: Any, pointer: str) -> tuple[Any, str]:
        seen: set[str] = set()
        while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
            reference = schema["$ref"]
            if reference in seen:
                break
            seen.add(reference)
            try:
                schema, pointer = resolve_pointer(document, reference)
            except (KeyError, IndexError, ValueError):
                return {}, pointer
        return schema, pointer

    def _view(self, document: Mapping[str, Any], schema: Any, pointer: str) -> tuple[_View, str]:
        schema, pointer = self._deref(document, schema, pointer)
        if schema is True or not isinstance(schema, Mapping):
            schema = {}
        nullable = False
        for keyword in ("anyOf", "oneOf", "allOf"):
            variants = schema.get(keyword)
            if not isinstance(variants, list):
                continue
            real = [v for v in variants if not (isinstance(v, Mapping) and v.get("type") == "null")]
            if len(real) == 1:  # ``X | None`` or a lone ``allOf``: the variant is the schema
                nullable = nullable or len(real) < len(variants)
                inner, inner_pointer = self._deref(document, real[0], pointer)
                rest = {k: v for k, v in schema.items() if k != keyword}
                merged = {**(inner if isinstance(inner, Mapping) else {}), **rest}
                view, _ = self._view(document, merged, inner_pointer)
                if nullable and view.types is not None:
                    view.types = view.types | {"null"}
                return view, inner_pointer
        view = _View(
            types=_types(schema),
            enum=_enum(schema),
            properties=dict(schema.get("properties") or {}),
            required=frozenset(schema.get("required") or ()),
            additional=schema.get("additionalProperties", True),
            items=schema.get("items"),
            variants=next(
                (
                    (k, list(schema[k]))
                    for k in ("anyOf", "oneOf", "allOf")
                    if isinstance(schema.get(k), list)
                ),
                None,
            ),
            constraints={k: schema[k] for k in (*_UPPER, *_LOWER, *_EXACT) if k in schema},
            format=schema.get("format"),
        )
        if view.types is None and view.variants is not None and view.variants[0] != "allOf":
            # ``oneOf: [string, integer]`` accepts the union of its alternatives' types.
            union: set[str] = set()
            for variant in view.variants[1]:
                types = self._view(document, variant, pointer)[0].types
                if types is None:
                    return view, pointer
                union |= types
            view.types = frozenset(union)
        return view, pointer

    def _compare(
        self,
        old: Any,
        new: Any,
        pointer: str,
        *,
        location: str,
        direction: Direction,
        visited: set[tuple[str, str]],
        depth: int,
    ) -> None:
        old_view, old_pointer = self._view(self.old, old, pointer)
        new_view, new_pointer = self._view(self.new, new, pointer)
        if (old_pointer, new_pointer) in visited or depth > _MAX_DEPTH:
            return  # a recursive schema: this pair is being compared further up
        visited = visited | {(old_pointer, new_pointer)}

        def report(rule: str, breaking: bool, message: str, at: str = new_pointer) -> None:
            self.emit(Change(f"{direction}.{rule}", breaking, location, at, message))

        self._compare_types(old_view, new_view, direction, report)
        self._compare_enums(old_view, new_view, direction, report)
        self._compare_constraints(old_view, new_view, direction, report)

        def recurse(old_schema: Any, new_schema: Any, suffix: str) -> None:
            self._compare(
                old_schema,
                new_schema,
                new_pointer + suffix,
                location=location,
                direction=direction,
                visited=visited,
                depth=depth + 1,
            )

        self._compare_objects(old_view, new_view, direction, report, recurse)
        if old_view.items is not None and new_view.items is not None:
            recurse(old_view.items, new_view.items, "/items")
        self._compare_variants(old_view, new_view, direction, report, recurse)

    @staticmethod
    def _compare_types(old: _View, new: _View, direction: Direction, report: Any) -> None:
        if direction == "request" and not _accepts(new.types, old.types):
            report(
                "type.narrowed",
                BREAKING,
                f"accepts {_names(new.types)} where it accepted {_names(old.types)}",
            )
        elif direction == "response" and not _accepts(old.types, new.types):
            report(
                "type.widened",
                BREAKING,
                f"may be {_names(new.types)} where it was {_names(old.types)}",
            )
        elif old.types != new.types:
            report(
                "type.changed", COMPATIBLE, f"type {_names(old.types)} became {_names(new.types)}"
            )
        if old.format != new.format:
            # A request format narrows what is accepted; a response format is what clients
            # parse (``date-time``): losing or changing it is what breaks them.
            stricter = new.format if direction == "request" else old.format
            report(
                "format.changed",
                stricter is not None,
                f"format {old.format!r} became {new.format!r}",
            )

    @staticmethod
    def _compare_enums(old: _View, new: _View, direction: Direction, report: Any) -> None:
        if old.enum == new.enum:
            return
        old_keys = None if old.enum is None else {_key(v) for v in old.enum}
        new_keys = None if new.enum is None else {_key(v) for v in new.enum}
        if new_keys is None:
            report(
                "enum.removed", direction == "response", "is no longer limited to a list of values"
            )
        elif old_keys is None:
            report(
                "enum.added", direction == "request", f"is now limited to {list(new.enum or ())}"
            )
        else:
            if removed := sorted(old_keys - new_keys):
                report(
                    "enum.value-removed",
                    direction == "request",
                    f"no longer has the values {', '.join(removed)}",
                )
            if added := sorted(new_keys - old_keys):
                report(
                    "enum.value-added",
                    direction == "response",
                    f"has the new values {', '.join(added)}",
                )

    @staticmethod
    def _compare_constraints(old: _View, new: _View, direction: Direction, report: Any) -> None:
        for name in (*_UPPER, *_LOWER, *_EXACT):
            before, after = old.constraints.get(name), new.constraints.get(name)
            if before == after:
                continue
            if name in _UPPER:
                tighter = after is not None and (before is None or after < before)
            elif name in _LOWER:
                tighter = after is not None and (before is None or after > before)
            else:
                tighter = after is not None
            breaking = tighter if direction == "request" else False
            word = "tightened" if tighter else "loosened"
            report(f"constraint.{word}", breaking, f"{name} {before!r} became {after!r}")

    @staticmethod
    def _compare_objects(
        old: _View, new: _View, direction: Direction, report: Any, recurse: Any
    ) -> None:
        for name in sorted(set(old.properties) | set(new.properties)):
            at = f"/properties/{escape(name)}"
            if name not in new.properties:
                breaking = direction == "response" or new.additional is False
                report("property.removed", breaking, f"field {name!r} was removed")
            elif name not in old.properties:
                if direction == "request" and name in new.required:
                    report("property.required-added", BREAKING, f"new required field {name!r}")
                else:
                    report("property.added", COMPATIBLE, f"new optional field {name!r}")
            else:
                recurse(old.properties[name], new.properties[name], at)
        for name in sorted((new.required - old.required) & set(old.properties)):
            report(
                "property.became-required",
                direction == "request",
                f"field {name!r} became required",
            )
        for name in sorted((old.required - new.required) & set(new.properties)):
            report(
                "property.became-optional",
                direction == "response",
                f"field {name!r} became optional (it may be absent)",
            )
        if direction == "request" and old.additional is not False and new.additional is False:
            report("additional-properties.forbidden", BREAKING, "no longer accepts unknown fields")
        elif isinstance(old.additional, Mapping) and isinstance(new.additional, Mapping):
            recurse(old.additional, new.additional, "/additionalProperties")

    @staticmethod
    def _compare_variants(
        old: _View, new: _View, direction: Direction, report: Any, recurse: Any
    ) -> None:
        if old.variants is None or new.variants is None:
            return  # one side is a plain schema: its types and values were compared above
        (old_keyword, old_list), (new_keyword, new_list) = old.variants, new.variants
        if old_keyword != new_keyword and "allOf" in (old_keyword, new_keyword):
            report("composition.changed", BREAKING, f"{old_keyword} became {new_keyword}")
            return
        # Identical alternatives pair up wherever they moved; the rest pair in order.
        unmatched_old = [v for v in old_list if _key(v) not in {_key(n) for n in new_list}]
        unmatched_new = [
            (index, v)
            for index, v in enumerate(new_list)
            if _key(v) not in {_key(o) for o in old_list}
        ]
        for before, (index, after) in zip(unmatched_old, unmatched_new, strict=False):
            recurse(before, after, f"/{new_keyword}/{index}")
        if len(new_list) < len(old_list):
            report(
                "variant.removed",
                direction == "request",
                f"has {len(new_list)} alternatives instead of {len(old_list)}",
            )
        elif len(new_list) > len(old_list):
            report(
                "variant.added",
                direction == "response",
                f"has {len(new_list)} alternatives instead of {len(old_list)}",
            )


def _names(types: frozenset[str] | None) -> str:
    return "any type" if types is None else "|".join(sorted(types))

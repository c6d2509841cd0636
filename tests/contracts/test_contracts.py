"""StrictSchema and the success envelope behave as the spec says."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field

from mic.contracts import HttpSuccessEnvelope, PageMeta, StrictSchema, wrap_http_success


class Item(StrictSchema):
    name: str
    quantity: int = 0


class Order(StrictSchema):
    """Integers nested in lists, optionals and dicts follow the same number rule."""

    lines: list[int] = Field(default_factory=list)
    note_id: int | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    item: Item | None = None
    alias_field: str = Field(default="", alias="aliasField")
    price: float = 0.0


def test_strict_schema_forbids_unknown_fields_and_mutation() -> None:
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        Item(name="a", colour="red")  # type: ignore[call-arg]
    item = Item(name="a")
    with pytest.raises(pydantic.ValidationError, match="Instance is frozen"):
        item.name = "b"  # type: ignore[misc]


@pytest.mark.parametrize("raw", ['"3"', "3.5", "true", '"3.0"', "null", "1e400"])
def test_an_int_field_refuses_strings_fractions_and_booleans(raw: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="Input should be a valid integer"):
        Item.model_validate_json(f'{{"name": "a", "quantity": {raw}}}')


@pytest.mark.parametrize("raw", ["3", "3.0", "3e0", "30e-1"])
def test_an_int_field_accepts_any_json_number_without_a_fraction(raw: str) -> None:
    parsed = Item.model_validate_json(f'{{"name": "a", "quantity": {raw}}}')
    assert (3, int) == (parsed.quantity, type(parsed.quantity))


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_integral_floats_read_as_the_same_integer(value: int) -> None:
    assert value == Item.model_validate({"name": "a", "quantity": float(value)}).quantity


def test_the_number_rule_reaches_nested_integers() -> None:
    order = Order.model_validate_json(
        b'{"lines": [1.0, 2], "note_id": 7.0, "counts": {"a": 2.0}, "item": {"name": "x", "quantity": 4.0}, "price": 2}'
    )
    assert ([1, 2], 7, {"a": 2}, 4, 2.0) == (
        order.lines,
        order.note_id,
        order.counts,
        order.item.quantity if order.item else None,
        order.price,
    )
    with pytest.raises(pydantic.ValidationError, match="Input should be a valid integer"):
        Order.model_validate_json(b'{"lines": [1.5]}')
    with pytest.raises(pydantic.ValidationError, match="Input should be a valid number"):
        Order.model_validate_json(b'{"price": "2"}')


def test_strings_are_stripped_and_aliases_accept_the_python_name() -> None:
    assert "bolt" == Item(name="  bolt \n").name
    assert "v" == Order.model_validate({"alias_field": "v"}).alias_field
    assert "v" == Order.model_validate({"aliasField": "v"}).alias_field


def test_with_changes_returns_a_validated_copy() -> None:
    item = Item(name="a", quantity=1)
    changed = item.with_changes(quantity=2, name=" b ")
    assert (Item(name="a", quantity=1), Item(name="b", quantity=2)) == (item, changed)
    with pytest.raises(pydantic.ValidationError, match="Input should be a valid integer"):
        item.with_changes(quantity="2")
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        item.with_changes(colour="red")


def test_wrap_http_success_builds_the_spec_envelope() -> None:
    assert (
        '{"success":true,"data":{"id":1},"meta":null}'
        == wrap_http_success({"id": 1}).model_dump_json()
    )
    envelope = wrap_http_success([1], meta={"page": 2})
    assert {"success": True, "data": [1], "meta": {"page": 2}} == envelope.model_dump()
    paged = wrap_http_success([Item(name="a")], meta=PageMeta(next_cursor="c1"))
    assert (
        '{"success":true,"data":[{"name":"a","quantity":0}],"meta":{"next_cursor":"c1"}}'
        == paged.model_dump_json()
    )


@pytest.mark.parametrize(
    ("payload", "meta"),
    [
        ({"id": 1}, None),
        ([Item(name="a")], PageMeta(next_cursor="c1")),
        ("text", {"page": 2}),
        (None, None),
    ],
)
def test_wrap_http_success_is_the_validated_envelope(payload: Any, meta: Any) -> None:
    built = wrap_http_success(payload, meta)
    validated = HttpSuccessEnvelope[Any, Any](data=payload, meta=meta)
    assert validated == built
    assert validated.model_fields_set == built.model_fields_set
    assert validated.model_dump_json() == built.model_dump_json()
    assert (None, None) == (built.__pydantic_extra__, built.__pydantic_private__)
    with pytest.raises(pydantic.ValidationError, match="Instance is frozen"):
        built.data = "changed"  # type: ignore[misc]


def test_a_hashable_envelope_hashes_as_the_validated_one() -> None:
    assert hash(HttpSuccessEnvelope[Any, Any](data="a", meta=None)) == hash(wrap_http_success("a"))


def test_envelope_is_a_typed_generic_for_contracts() -> None:
    typed = HttpSuccessEnvelope[Item].model_validate_json(b'{"data": {"name": "a"}}')
    assert (Item(name="a"), None, True) == (typed.data, typed.meta, typed.success)
    page = HttpSuccessEnvelope[list[Item], PageMeta].model_validate_json(
        b'{"success": true, "data": [], "meta": {"next_cursor": null}}'
    )
    assert PageMeta() == page.meta
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        HttpSuccessEnvelope[Item].model_validate({"data": {"name": "a"}, "extra": 1})
    with pytest.raises(pydantic.ValidationError, match="Input should be True"):
        HttpSuccessEnvelope[Item].model_validate({"success": False, "data": {"name": "a"}})


@pytest.mark.parametrize(
    ("envelope", "name"),
    [
        (HttpSuccessEnvelope[Item], "ItemEnvelope"),
        (HttpSuccessEnvelope[list[Item], PageMeta], "ItemListPageMetaEnvelope"),
        (HttpSuccessEnvelope[dict[str, Any]], "ObjectEnvelope"),
        (HttpSuccessEnvelope[int | None], "IntNoneEnvelope"),
    ],
)
def test_envelopes_have_readable_component_names(envelope: type[Any], name: str) -> None:
    assert name == envelope.__name__


class Node(StrictSchema):
    value: int
    children: list[Node] = Field(default_factory=list)


class Loose(pydantic.BaseModel):
    count: int


class Holder(StrictSchema):
    loose: Loose


def test_recursive_models_follow_the_rule_and_plain_models_keep_theirs() -> None:
    tree = Node.model_validate_json(b'{"value": 1.0, "children": [{"value": 2.0}]}')
    assert (1, 2) == (tree.value, tree.children[0].value)
    # A plain pydantic model nested in a StrictSchema keeps its own (lax) rule.
    assert 3 == Holder.model_validate_json(b'{"loose": {"count": "3"}}').loose.count

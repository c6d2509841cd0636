"""StrictSchema and the success envelope behave as the spec says."""

from __future__ import annotations

import pydantic
import pytest

from mic.contracts import HttpSuccessEnvelope, StrictSchema, wrap_http_success


class Item(StrictSchema):
    name: str
    quantity: int = 0


def test_strict_schema_forbids_unknown_fields_and_mutation() -> None:
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        Item(name="a", colour="red")  # type: ignore[call-arg]
    item = Item(name="a")
    with pytest.raises(pydantic.ValidationError, match="Instance is frozen"):
        item.name = "b"  # type: ignore[misc]


def test_strict_schema_never_coerces_strings_into_numbers() -> None:
    with pytest.raises(pydantic.ValidationError, match="Input should be a valid integer"):
        Item.model_validate_json(b'{"name": "a", "quantity": "3"}')
    assert Item(name="a", quantity=3) == Item.model_validate_json(b'{"name": "a", "quantity": 3}')


def test_wrap_http_success_builds_the_envelope() -> None:
    envelope = wrap_http_success({"id": 1}, meta={"page": 2})
    assert envelope.model_dump() == {"data": {"id": 1}, "meta": {"page": 2}}
    assert wrap_http_success([1]).model_dump() == {"data": [1], "meta": {}}
    assert (
        wrap_http_success(Item(name="a")).model_dump_json()
        == '{"data":{"name":"a","quantity":0},"meta":{}}'
    )


def test_envelope_is_a_typed_generic_for_contracts() -> None:
    typed = HttpSuccessEnvelope[Item].model_validate_json(b'{"data": {"name": "a"}}')
    assert Item(name="a") == typed.data
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        HttpSuccessEnvelope[Item].model_validate({"data": {"name": "a"}, "extra": 1})

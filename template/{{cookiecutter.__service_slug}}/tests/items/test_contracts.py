"""Item contracts reject what the API must not accept."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from {{ cookiecutter.__package_name }}.items.contracts import ItemPayload


def test_quantity_defaults_to_zero() -> None:
    assert ItemPayload(name="bolt").quantity == 0


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": ""}, "at least 1 character"),
        ({"name": "x" * 201}, "at most 200 characters"),
        ({"name": "bolt", "quantity": -1}, "greater than or equal to 0"),
        ({"name": "bolt", "quantity": "3"}, "valid integer"),
        ({"name": "bolt", "colour": "red"}, "Extra inputs are not permitted"),
        ({}, "Field required"),
    ],
)
def test_invalid_payloads_are_rejected(data: dict[str, object], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        ItemPayload.model_validate(data)

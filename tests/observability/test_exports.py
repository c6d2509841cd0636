"""An unknown name of `mic.observability` is an AttributeError (surface: test_public_surface)."""

import pytest

import mic.observability


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = mic.observability.Nope  # type: ignore[attr-defined]

"""One error root: every exception mic exports is a `DomainError` or a `MicError`."""

from __future__ import annotations

import importlib

import pytest

import mic
from mic import MicError, MissingDependencyError
from mic.model import DomainError

from .test_public_surface import PACKAGES


def _exported_errors() -> list[type[BaseException]]:
    found = []
    for name in PACKAGES:
        module = importlib.import_module(name)
        for public in module.__all__:
            value = getattr(module, public)
            if isinstance(value, type) and issubclass(value, BaseException):
                found.append(value)
    return found


@pytest.mark.parametrize("error", _exported_errors(), ids=lambda e: e.__qualname__)
def test_every_exported_error_has_a_root(error: type[BaseException]) -> None:
    assert issubclass(error, DomainError | MicError)


def test_the_tree_is_drawn_where_the_root_is() -> None:
    tree = MicError.__doc__ or ""
    for error in _exported_errors():
        if issubclass(error, MicError) and error is not MicError:
            assert error.__name__ in tree, error


def test_errors_keep_the_builtin_base_callers_catch() -> None:
    error = MissingDependencyError("redis", "redis")

    assert isinstance(error, ImportError)
    assert isinstance(error, mic.MicError)
    with pytest.raises(MicError, match=r"pip install 'mic-kit\[redis\]'"):
        raise error

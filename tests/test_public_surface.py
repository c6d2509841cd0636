"""Every package's public surface is its `__all__`, derived from the package's namespace.

Nothing is copied here: a package exports exactly the public names bound in its
``__init__`` (or offered by its lazy ``__getattr__`` through ``__dir__``), each resolves,
and ``__all__`` has no repeats, so a change to the public API shows as a change
to that ``__init__`` and nowhere else (httpx's ``test_exported_members``).
"""

from __future__ import annotations
import __future__

import importlib
import pkgutil
import typing
from types import ModuleType

import pytest

import mic


def _packages() -> list[str]:
    found = [info.name for info in pkgutil.walk_packages(mic.__path__, "mic.") if info.ispkg]
    public = [name for name in found if not any(p.startswith("_") for p in name.split("."))]
    return ["mic", *public]


PACKAGES = _packages()


def _public_names(module: ModuleType) -> set[str]:
    """Public names bound in the module, less submodules and typing helpers."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType | __future__._Feature)
        and value is not getattr(typing, name, None)  # `Any`, `TYPE_CHECKING` for lazy imports
    }


def test_every_package_is_found() -> None:
    assert {"mic.datastorage", "mic.eventbus", "mic.outbox", "mic.queue"} <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_the_public_namespace(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__

    bound = _public_names(module)
    # Names served on first use by the package's __getattr__ (they need an extra).
    lazy = {n for n in exported if n not in vars(module)}

    assert len(set(exported)) == len(exported), "__all__ names a name twice"
    assert {n for n in exported if not n.startswith("__")} - lazy == bound
    assert all(hasattr(module, n) for n in exported)

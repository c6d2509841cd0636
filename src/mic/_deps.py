"""One error type for a missing optional dependency, naming the pip extra that fixes it."""

from __future__ import annotations

import importlib
from types import ModuleType

from mic._errors import MicError


class MissingDependencyError(MicError, ImportError):
    """Raised when a feature is used without the pip extra that provides its dependency."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{package!r} is not installed; install it with: pip install 'mic-kit[{extra}]'"
        )


def require(module: str, extra: str) -> ModuleType:
    """Import `module` or raise `MissingDependencyError` naming `extra`.

    Args:
        module: Dotted module name to import.
        extra: The mic-kit extra that installs it.

    Raises:
        MissingDependencyError: The module (or one it needs) cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(module.partition(".")[0], extra) from exc

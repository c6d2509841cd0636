"""Settings for tests: every backend in memory, whatever the environment says."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mic.settings import MicSettings

IN_MEMORY: dict[str, Any] = {
    "storage": {"url": "memory://"},
    "eventbus": {"url": "memory://"},
    "ratelimit": {"url": "memory://"},
    "cache": {"url": "memory://"},
}


def memory_settings(**overrides: Any) -> MicSettings:
    """`MicSettings` with every backend ``memory://``, no ``.env``; `overrides` win.

    Each override is a section's fields (``http={"framework": "litestar"}``) and replaces
    that section's values from the environment.

    Raises:
        SettingsError: An override is invalid.
    """
    from mic.settings import MicSettings

    return MicSettings.load(env_file=None, **{**IN_MEMORY, **overrides})

"""Typed settings for a mic-kit service, from ``MIC_*`` variables, ``.env`` and secret files.

`MicSettings.load()` reads one section per feature (``MIC_STORAGE__URL``,
``MIC_EVENTBUS__URL``, ``MIC_HTTP__PORT``...); each section builds its backend from a URL.
Bad settings raise one `SettingsError` listing every bad variable; secrets are masked in
reprs and logs. Needs the ``settings`` extra (pydantic-settings). See docs/service.md.
"""

from mic._deps import require

require("pydantic_settings", "settings")

from mic.settings._errors import SettingsError  # noqa: E402 - after the extra check
from mic.settings._secret_url import SecretUrl, mask_url  # noqa: E402
from mic.settings._sections import (  # noqa: E402
    AuthSettings,
    CacheSettings,
    EventBusSettings,
    HttpSettings,
    LoggingSettings,
    RateLimitSettings,
    ServiceSettings,
    StorageSettings,
)
from mic.settings._settings import MicSettings  # noqa: E402

__all__ = [
    "AuthSettings",
    "CacheSettings",
    "EventBusSettings",
    "HttpSettings",
    "LoggingSettings",
    "MicSettings",
    "RateLimitSettings",
    "SecretUrl",
    "ServiceSettings",
    "SettingsError",
    "StorageSettings",
    "mask_url",
]

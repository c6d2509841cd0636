"""Test helpers for mic-kit services, and the pytest plugin that serves them as fixtures.

`app_client` runs an app's lifespan and gives an in-process httpx client (either
framework); `memory_settings` puts every backend in memory; `RecordingEventBus` remembers
what was published; `FrozenClock` is time you move by hand. The pytest plugin
``mic.testing.plugin`` (``pytest_plugins = ["mic.testing.plugin"]`` in your root conftest)
offers them as the fixtures ``mic_client``, ``mic_settings``, ``recording_bus`` and
``frozen_clock``. See docs/service.md.
"""

from mic.testing._fakes import FrozenClock, RecordingEventBus
from mic.testing._lifespan import LifespanError, app_client, run_lifespan
from mic.testing._settings import memory_settings

__all__ = [
    "FrozenClock",
    "LifespanError",
    "RecordingEventBus",
    "app_client",
    "memory_settings",
    "run_lifespan",
]

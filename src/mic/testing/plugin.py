"""The pytest plugin: fixtures for testing a mic-kit service.

Enable it in your root ``conftest.py`` with ``pytest_plugins = ["mic.testing.plugin"]``.
Fixtures: ``mic_settings`` (every backend in memory), ``recording_bus``, ``frozen_clock``
and ``mic_client`` (an in-process client on a `Service` or app, lifespan run, on the
framework you name).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

__all__ = ["frozen_clock", "mic_client", "mic_settings", "recording_bus"]

ClientFactory = Callable[..., AbstractAsyncContextManager[Any]]


@pytest.fixture
def mic_settings() -> Any:
    """`MicSettings` with storage, event bus, rate limit and cache all ``memory://``."""
    from mic.testing._settings import memory_settings

    return memory_settings()


@pytest.fixture
def recording_bus() -> Any:
    """A `RecordingEventBus`: the in-memory bus, remembering what was published."""
    from mic.testing._fakes import RecordingEventBus

    return RecordingEventBus()


@pytest.fixture
def frozen_clock() -> Any:
    """A `FrozenClock` to pass as ``clock=``; move it with ``advance(seconds)``."""
    from mic.testing._fakes import FrozenClock

    return FrozenClock()


@pytest.fixture
def mic_client() -> ClientFactory:
    """Open an in-process client: ``async with mic_client(service, framework="litestar")``.

    It accepts a `Service` (its ``build_app(framework)`` is served) or any ASGI app; the
    app's lifespan runs around the client, so resources are open while the test talks.
    """

    @asynccontextmanager
    async def open_client(target: Any, *, framework: str | None = None) -> AsyncIterator[Any]:
        from mic.testing._lifespan import app_client

        app = target.build_app(framework) if hasattr(target, "build_app") else target
        async with app_client(app) as client:
            yield client

    return open_client

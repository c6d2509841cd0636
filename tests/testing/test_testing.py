"""The `mic.testing` helpers and the pytest plugin's fixtures, used as a service's tests would."""

from __future__ import annotations

from typing import Any

import pytest

import mic.testing
from mic.eventbus import Event
from mic.http import HttpRouteSpec
from mic.service import Service
from mic.testing import FrozenClock, LifespanError, RecordingEventBus, app_client, run_lifespan


def test_all_is_pinned() -> None:
    public = {name for name in vars(mic.testing) if not name.startswith("_")}
    assert sorted(mic.testing.__all__) == sorted(public - {"annotations", "plugin"})


def _service(settings: Any, bus: RecordingEventBus) -> Service:
    async def place(*, order: int) -> dict[str, int]:
        await handle.get().publish(Event("orders.placed", {"order": order}))
        return {"order": order}

    service = Service(
        settings,
        routes=[
            HttpRouteSpec(
                method="POST",
                path="/orders/{order}",
                name="place",
                category="orders",
                handler=place,
            )
        ],
    )
    handle = service.add_resource("bus", lambda: bus)
    return service


async def test_the_fixtures_test_a_service_on_either_framework(
    mic_client: Any, mic_settings: Any, recording_bus: RecordingEventBus, framework: str
) -> None:
    service = _service(mic_settings, recording_bus)
    async with mic_client(service, framework=framework) as client:
        answer = await client.post("/orders/7")
        ready = await client.get("/ready")
    assert (200, {"order": 7}) == (answer.status_code, answer.json())
    assert "up" == ready.json()["probes"]["bus"]["status"]
    assert ["orders.placed"] == recording_bus.topics()
    assert [{"order": 7}] == [e.payload for e in recording_bus.published]
    assert "stopped" == service.state  # the lifespan ran its shutdown


async def test_mic_client_takes_any_asgi_app(mic_client: Any, mic_settings: Any) -> None:
    app = Service(mic_settings).build_app("litestar")
    async with mic_client(app) as client:
        assert 200 == (await client.get("/health")).status_code


def test_mic_settings_are_in_memory_whatever_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIC_STORAGE__URL", "postgresql+psycopg://x@y/z")
    from mic.testing import memory_settings

    settings = memory_settings(http={"port": 1})
    assert ("memory", 1) == (settings.storage.url.scheme, settings.http.port)


def test_the_frozen_clock_moves_only_when_told(frozen_clock: FrozenClock) -> None:
    start = frozen_clock()
    frozen_clock.advance(2.5)
    assert 2.5 == frozen_clock() - start
    assert "FrozenClock(" in repr(frozen_clock)
    with pytest.raises(ValueError, match="a clock cannot go back"):
        frozen_clock.advance(-1)


async def test_a_frozen_clock_drives_a_backend(frozen_clock: FrozenClock) -> None:
    from mic.cache import InMemoryCache

    cache = InMemoryCache(clock=frozen_clock)
    await cache.set("k", 1, ttl=10)
    frozen_clock.advance(9.9)
    assert 1 == await cache.get("k")
    frozen_clock.advance(0.2)
    assert await cache.get("k") is None


async def test_a_failed_startup_is_a_lifespan_error() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    with pytest.raises(LifespanError, match="no database"):
        async with run_lifespan(app):
            pass


async def test_an_app_that_crashes_in_its_lifespan_is_a_lifespan_error() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(LifespanError, match="the app ended during startup: RuntimeError"):
        async with app_client(app):
            pass

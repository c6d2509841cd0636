"""`Service`: dependency order, all-or-nothing start, drain, probes, both frameworks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from mic.http import HttpRouteSpec
from mic.service import (
    Service,
    ServiceConfigurationError,
    ServiceError,
    ServiceNotStartedError,
    ServiceStartError,
)
from mic.testing import app_client, memory_settings


class Tracked:
    """A resource that records its lifecycle in a shared journal."""

    def __init__(self, name: str, journal: list[str], *, fail_close: bool = False) -> None:
        self.name = name
        self.journal = journal
        self.fail_close = fail_close
        self.healthy = True
        journal.append(f"open {name}")

    async def ping(self) -> None:
        if not self.healthy:
            raise ConnectionError("down")

    async def aclose(self) -> None:
        self.journal.append(f"close {self.name}")
        if self.fail_close:
            raise OSError("close failed for postgresql://u:pw-secret@h/d")


class Loop:
    """A worker: runs until stopped; optionally ignores stop or crashes."""

    def __init__(self, journal: list[str], *, stubborn: bool = False, crash: bool = False) -> None:
        self.journal = journal
        self.stubborn = stubborn
        self.crash = crash
        self.stopping = asyncio.Event()
        self.running = asyncio.Event()

    async def run(self) -> None:
        self.running.set()
        self.journal.append("worker running")
        if self.crash:
            raise RuntimeError("worker crashed")
        try:
            if self.stubborn:
                await asyncio.Event().wait()
            await self.stopping.wait()
        finally:
            self.journal.append("worker ended")

    async def stop(self) -> None:
        self.journal.append("worker stop asked")
        self.stopping.set()


def _service(**http: Any) -> Service:
    return Service(memory_settings(http={"shutdown_timeout": 2, **http}))


async def test_resources_start_in_dependency_order_and_stop_in_reverse() -> None:
    journal: list[str] = []
    service = _service()
    # Declared out of order on purpose: depends_on decides.
    service.add_resource("cache", lambda: Tracked("cache", journal), depends_on=["db"])
    db = service.add_resource("db", lambda: Tracked("db", journal))
    service.add_resource("api", lambda: Tracked("api", journal), depends_on=["cache", db])
    async with service:
        assert "running" == service.state
        assert "db" == db.get().name
    assert ["open db", "open cache", "open api", "close api", "close cache", "close db"] == journal
    assert "stopped" == service.state


async def test_async_openers_and_custom_closers_are_awaited() -> None:
    journal: list[str] = []

    async def open_it() -> str:
        return "value"

    async def close_it(value: str) -> None:
        journal.append(f"closed {value}")

    service = _service()
    handle = service.add_resource("thing", open_it, close=close_it)
    async with service:
        assert "value" == handle.get()
    assert ["closed value"] == journal


async def test_a_failing_start_unwinds_what_started_and_scrubs_the_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal: list[str] = []

    def broken() -> None:
        raise ConnectionRefusedError("postgresql://app:pw-secret@db/app refused")

    service = _service()
    service.add_resource("a", lambda: Tracked("a", journal))
    service.add_resource("b", lambda: Tracked("b", journal))
    service.add_resource("c", broken)
    service.add_resource("d", lambda: Tracked("d", journal))
    with pytest.raises(
        ServiceStartError, match="starting 'c' failed: ConnectionRefusedError"
    ) as info:
        await service.start()
    assert ["open a", "open b", "close b", "close a"] == journal
    assert "pw-secret" not in str(info.value)
    assert "pw-secret" not in caplog.text
    assert isinstance(info.value.error, ConnectionRefusedError)
    assert info.value.__cause__ is None
    assert "stopped" == service.state
    journal.clear()
    service._handles[2] = type(service._handles[2])("c", lambda: Tracked("c", journal), None, ())
    async with service:  # a fixed service starts again
        pass
    assert "open d" in journal


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (
            lambda s: s.add_resource("a", object, depends_on=["ghost"]),
            "'a' depends on \\['ghost'\\], which the service does not have",
        ),
        (
            lambda s: (
                s.add_resource("a", object, depends_on=["b"]),
                s.add_resource("b", object, depends_on=["a"]),
            ),
            "circular depends_on between \\['a', 'b'\\]",
        ),
    ],
)
async def test_bad_dependencies_fail_at_start(declare: Any, message: str) -> None:
    service = _service()
    declare(service)
    with pytest.raises(ServiceConfigurationError, match=message):
        await service.start()
    assert "stopped" == service.state


def test_names_must_be_unique_and_present() -> None:
    service = _service()
    service.add_resource("a", object)
    with pytest.raises(ServiceConfigurationError, match="the service already has 'a'"):
        service.add_resource("a", object)
    with pytest.raises(ServiceConfigurationError, match="a component needs a name"):
        service.add_worker("", object)


async def test_components_cannot_be_added_or_started_twice_while_running() -> None:
    service = _service()
    async with service:
        with pytest.raises(ServiceConfigurationError, match="cannot add 'late': the service runs"):
            service.add_resource("late", object)
        with pytest.raises(ServiceError, match="cannot start: the service is running"):
            await service.start()
    await service.stop()  # idempotent


async def test_a_value_is_only_readable_while_running() -> None:
    service = _service()
    handle = service.add_resource("a", lambda: 1)
    with pytest.raises(ServiceNotStartedError, match="'a' is not started"):
        handle.get()
    assert "Handle" in repr(handle) or "stopped" in repr(handle)
    async with service:
        assert (1, True) == (handle.get(), handle.started)
        assert "started" in repr(handle)
    assert "Service(" in repr(service)


async def test_a_failing_close_is_logged_and_the_rest_still_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal: list[str] = []
    service = _service()
    service.add_resource("a", lambda: Tracked("a", journal))
    service.add_resource("b", lambda: Tracked("b", journal, fail_close=True))
    with caplog.at_level(logging.ERROR, logger="mic.service"):
        async with service:
            pass
    assert ["open a", "open b", "close b", "close a"] == journal
    assert "closing b failed" in caplog.text


async def test_workers_run_while_the_service_runs_and_stop_before_resources() -> None:
    journal: list[str] = []
    service = _service()
    db = service.add_resource("db", lambda: Tracked("db", journal))
    worker = service.add_worker("loop", lambda: Loop(journal), depends_on=[db])
    async with service:
        await worker.get().running.wait()
        report = await service.readiness.check()
        assert {"db": "up", "loop": "up"} == {r.name: r.status for r in report.results}
    assert ["open db", "worker running", "worker stop asked", "worker ended", "close db"] == journal


async def test_a_worker_that_ignores_stop_is_cancelled_at_the_deadline() -> None:
    journal: list[str] = []
    service = _service(shutdown_timeout=0.05)
    worker = service.add_worker("loop", lambda: Loop(journal, stubborn=True))
    async with service:
        await worker.get().running.wait()
    assert ["worker running", "worker stop asked", "worker ended"] == journal


async def test_a_crashed_worker_makes_the_service_not_ready(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal: list[str] = []
    service = _service()
    worker = service.add_worker("loop", lambda: Loop(journal, crash=True))
    async with service:
        await asyncio.wait({worker._task})  # type: ignore[attr-defined]
        report = await service.readiness.check()
    assert ("not_ready", "RuntimeError") == (
        report.status,
        report.results[0].error and "RuntimeError",
    )
    assert "service worker loop crashed" in caplog.text


async def test_a_worker_without_run_and_stop_fails_the_start() -> None:
    service = _service()
    service.add_worker("bad", object)
    with pytest.raises(
        ServiceStartError, match="worker 'bad' needs run\\(\\) and stop\\(\\) methods"
    ):
        await service.start()


async def test_probes_are_registered_when_resources_are_added() -> None:
    journal: list[str] = []
    service = _service()
    handle = service.add_resource("db", lambda: Tracked("db", journal))
    service.add_resource("plain", lambda: 42, required=False)
    service.add_resource("silent", lambda: 0, probe=False)
    assert ["db", "plain"] == [p.name for p in service.readiness.probes]
    before = await service.readiness.check()
    assert ("not_ready", "ServiceNotStartedError") == (before.status, before.results[0].error)
    async with service:
        assert "ready" == (await service.readiness.check()).status
        handle.get().healthy = False
        after = await service.readiness.check()
    assert ("not_ready", "ConnectionError") == (after.status, after.results[0].error)


async def test_consumers_receive_events_and_close_before_their_bus() -> None:
    from mic.eventbus import Event
    from mic.testing import RecordingEventBus

    received: list[Event] = []
    done = asyncio.Event()

    async def handle(event: Event) -> None:
        received.append(event)
        done.set()

    service = _service()
    bus = service.add_resource("bus", RecordingEventBus)
    consumer = service.add_consumer("log", bus, "orders.placed", handle, group="g")
    async with service:
        await bus.get().publish(Event("orders.placed", {"n": 1}))
        await done.wait()
        subscription = consumer.get()
        assert ["orders.placed"] == bus.get().topics()
    assert subscription.closed
    assert [{"n": 1}] == [e.payload for e in received]


def _slow_service(started: asyncio.Event, release: asyncio.Event, **http: Any) -> Service:
    async def slow() -> dict[str, str]:
        started.set()
        await release.wait()
        return {"done": "yes"}

    async def fast() -> dict[str, str]:
        return {"fast": "yes"}

    return Service(
        memory_settings(http={"shutdown_timeout": 5, **http}),
        routes=[
            HttpRouteSpec(method="GET", path="/slow", name="slow", category="t", handler=slow),
            HttpRouteSpec(method="GET", path="/fast", name="fast", category="t", handler=fast),
        ],
    )


async def test_shutdown_refuses_new_requests_and_drains_those_in_flight(framework: str) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    service = _slow_service(started, release)
    journal: list[str] = []
    service.add_resource("db", lambda: Tracked("db", journal))
    async with app_client(service.build_app(framework)) as client:
        slow = asyncio.create_task(client.get("/slow"))
        await started.wait()
        stopping = asyncio.create_task(service.stop())
        await asyncio.sleep(0)  # one turn of the loop: stop() runs up to its drain wait
        assert service.drain.draining
        refused = await client.get("/fast")
        assert ["open db"] == journal  # still open: a request is in flight
        release.set()
        answer = await slow
        await stopping
        assert ["open db", "close db"] == journal
    assert (200, {"done": "yes"}) == (answer.status_code, answer.json())
    assert 503 == refused.status_code
    assert "shutting_down" == refused.json()["code"]


async def test_the_drain_gives_up_at_the_deadline(
    framework: str, caplog: pytest.LogCaptureFixture
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    service = _slow_service(started, release, shutdown_timeout=0.05)
    async with app_client(service.build_app(framework)) as client:
        slow = asyncio.create_task(client.get("/slow"))
        await started.wait()
        await service.stop()
        assert "1 requests still in flight at the shutdown deadline" in caplog.text
        release.set()
        await slow


async def test_build_app_serves_health_ready_metrics_on_both_frameworks(framework: str) -> None:
    service = Service(memory_settings(service={"name": "orders"}), metrics=True)
    service.add_resource("db", lambda: Tracked("db", []))
    async with app_client(service.build_app(framework)) as client:
        health = await client.get("/health")
        ready = await client.get("/ready")
        metrics = await client.get("/metrics")
        document = (await client.get("/openapi.json")).json()
    assert (200, 200, 200) == (health.status_code, ready.status_code, metrics.status_code)
    assert ["db"] == list(ready.json()["probes"])
    assert "http_server_requests_total" in metrics.text
    assert ("orders", "0.1.0") == (document["info"]["title"], document["info"]["version"])
    assert health.headers["x-request-id"]


async def test_build_app_takes_the_framework_from_settings() -> None:
    service = Service(memory_settings(http={"framework": "litestar"}))
    assert "Litestar" == type(service.build_app()).__name__
    with pytest.raises(ValueError, match="framework must be one of fastapi, litestar, not 'flask'"):
        service.build_app("flask")


async def test_settings_are_loaded_from_the_environment_when_not_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIC_HTTP__FRAMEWORK", "litestar")
    service = Service()
    assert "litestar" == service.settings.http.framework
    assert service.settings is service.settings


async def test_a_lifespan_failure_is_reported_by_the_framework(framework: str) -> None:
    from mic.testing import LifespanError

    service = _service()

    def broken() -> None:
        raise OSError("disk on fire")

    service.add_resource("a", broken)
    with pytest.raises(LifespanError, match="starting 'a' failed: OSError: disk on fire"):
        async with app_client(service.build_app(framework)):
            pass


async def test_a_worker_whose_stop_fails_is_still_ended(caplog: pytest.LogCaptureFixture) -> None:
    journal: list[str] = []

    class BrokenStop(Loop):
        async def stop(self) -> None:
            raise RuntimeError("cannot stop")

    service = _service(shutdown_timeout=0.05)
    worker = service.add_worker("loop", lambda: BrokenStop(journal))
    async with service:
        await worker.get().running.wait()
    assert "stopping loop failed" in caplog.text
    assert ["worker running", "worker ended"] == journal


async def test_stopping_a_component_that_never_started_does_nothing() -> None:
    service = _service()
    resource = service.add_resource("a", object)
    worker = service.add_worker("w", object)
    for handle in (resource, worker):
        await handle.stop(0.0)  # type: ignore[attr-defined]
        assert not handle.started


def test_an_unprintable_error_is_described_without_failing() -> None:
    from mic.service._components import describe

    class UnprintableError(Exception):
        def __str__(self) -> str:
            raise ValueError("no")

    assert "(no description)" == describe(UnprintableError())


async def test_sync_close_and_dispose_are_found_by_default() -> None:
    journal: list[str] = []

    class SyncClose:
        def close(self) -> None:
            journal.append("close")

    class Engine:
        async def dispose(self) -> None:
            journal.append("dispose")

    service = _service()
    service.add_resource("engine", Engine)
    service.add_resource("sync", SyncClose, depends_on=["engine"])
    async with service:
        pass
    assert ["close", "dispose"] == journal


async def test_shutdown_lets_a_consumer_finish_its_event_before_the_bus_closes() -> None:
    from mic.eventbus import Event
    from mic.testing import RecordingEventBus

    journal: list[str] = []
    started, release = asyncio.Event(), asyncio.Event()

    class JournaledBus(RecordingEventBus):
        async def close(self) -> None:
            journal.append("bus closed")
            await super().close()

    async def slow_handler(event: Event) -> None:
        started.set()
        await release.wait()
        journal.append(f"handled {event.payload['n']}")

    service = _service()
    bus = service.add_resource("bus", JournaledBus)
    service.add_consumer("slow", bus, "jobs.queued", slow_handler, group="g")
    await service.start()
    await bus.get().publish(Event("jobs.queued", {"n": 1}))
    await started.wait()
    stopping = asyncio.create_task(service.stop())
    await asyncio.sleep(0)  # one turn: stop() is now waiting on the handler in flight
    assert [] == journal
    release.set()
    await stopping
    assert ["handled 1", "bus closed"] == journal

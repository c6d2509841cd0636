"""ReadinessChecker: concurrency, per-probe timeouts, required vs optional, hanging probes."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

import httpx
import pytest

from mic.healthcheck import (
    Probe,
    ProbeFailedError,
    ReadinessChecker,
    ReadinessReport,
    http_probe,
)
from tests.support import eventually


async def _up() -> None:
    return None


async def _down() -> None:
    raise ConnectionRefusedError("postgres://app:secret@db refused")


async def _false() -> bool:
    return False


async def _hang() -> None:
    await asyncio.Event().wait()


def _sync_up() -> str:
    return "fine"


async def test_all_up_is_ready() -> None:
    report = await ReadinessChecker([Probe("a", _up), Probe("b", _sync_up)]).check()
    assert report.status == "ready"
    assert report.ready
    assert [r.status for r in report.results] == ["up", "up"]


async def test_required_failure_is_not_ready_and_hides_the_message() -> None:
    report = await ReadinessChecker([Probe("db", _down), Probe("x", _false)]).check()
    assert report.status == "not_ready"
    document = report.to_dict()
    assert document["probes"]["db"]["error"] == "ConnectionRefusedError"
    assert document["probes"]["x"]["error"] == "ProbeFailedError"
    assert "secret" not in str(document)


async def test_optional_failure_is_degraded() -> None:
    checker = ReadinessChecker([Probe("a", _up), Probe("cache", _down, required=False)])
    report = await checker.check()
    assert report.status == "degraded"
    assert report.ready


async def test_probes_run_concurrently() -> None:
    """Each probe answers only once all five have started: run one after another, none would."""
    started = 0
    all_started = asyncio.Event()

    async def waits_for_the_others() -> None:
        nonlocal started
        started += 1
        if started == 5:
            all_started.set()
        await all_started.wait()

    checker = ReadinessChecker([Probe(f"p{i}", waits_for_the_others) for i in range(5)])
    report = await checker.check()
    assert ["up"] * 5 == [r.status for r in report.results]


async def test_hanging_probe_times_out_promptly() -> None:
    # A probe that never answers: the check still ends (a hang would trip pytest-timeout),
    # with the probe timed out; how fast depends on the machine, so only the floor is checked.
    checker = ReadinessChecker([Probe("hang", _hang, timeout=0.1), Probe("ok", _up)])
    report = await checker.check()
    hang, ok = report.results
    assert (hang.status, hang.error) == ("timeout", "no answer within 0.1s")
    assert hang.duration >= 0.09
    assert ok.status == "up"
    assert report.status == "not_ready"


async def test_probe_ignoring_cancellation_does_not_hold_the_answer() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()  # until the checker's timeout cancels it
        except asyncio.CancelledError:
            await release.wait()
            raise RuntimeError("late") from None

    checker = ReadinessChecker([Probe("stubborn", stubborn, timeout=0.05)])
    # The answer comes while the probe still refuses to end (release is set only below);
    # the deadline turns a held answer into a failure instead of a hang.
    report = await asyncio.wait_for(checker.check(), 10)
    assert report.results[0].status == "timeout"
    assert len(checker._stragglers) == 1
    release.set()
    await eventually(lambda: not checker._stragglers)


async def test_cancelled_check_cancels_its_probes() -> None:
    started = asyncio.Event()

    async def waits() -> None:
        started.set()
        await asyncio.Event().wait()

    checker = ReadinessChecker([Probe("w", waits, timeout=30)])
    task = asyncio.create_task(checker.check())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError, match=r"^$"):
        await task
    await asyncio.sleep(0)
    assert not checker._stragglers


async def test_probe_cancelled_from_inside_is_down() -> None:
    async def cancels_itself() -> None:
        raise asyncio.CancelledError

    report = await ReadinessChecker([Probe("c", cancels_itself)]).check()
    assert (report.results[0].status, report.results[0].error) == ("down", "CancelledError")


async def test_sync_callable_returning_awaitable() -> None:
    def starts_false() -> Coroutine[Any, Any, bool]:
        return _false()

    report = await ReadinessChecker([Probe("sync", starts_false)]).check()
    assert report.results[0].status == "down"


def test_report_document() -> None:
    report = ReadinessReport(())
    assert report.to_dict() == {"status": "ready", "probes": {}}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": "", "check": _up}, ValueError, "needs a name"),
        ({"name": "a", "check": "nope"}, TypeError, "not callable"),
        ({"name": "a", "check": _up, "timeout": 0}, ValueError, "timeout"),
    ],
)
def test_invalid_probes(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Probe(**kwargs)


def test_duplicate_names() -> None:
    with pytest.raises(ValueError, match=r"unique: \['a'\]"):
        ReadinessChecker([Probe("a", _up), Probe("a", _up)])


async def test_probe_run_raises_on_false() -> None:
    with pytest.raises(ProbeFailedError, match="answered False"):
        await Probe("f", _false).run()


def _dependency(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200 if request.url.path == "/healthy" else 500)


async def test_http_probe_with_a_client() -> None:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(_dependency), base_url="http://dep"
    ) as client:
        checker = ReadinessChecker(
            [
                http_probe("/healthy", client=client, name="up"),
                http_probe("/broken", client=client, name="broken"),
                http_probe("/broken", client=client, name="tolerant", expected_status={500}),
            ]
        )
        report = await checker.check()
    assert [(r.name, r.status, r.error) for r in report.results] == [
        ("up", "up", None),
        ("broken", "down", "ProbeFailedError"),
        ("tolerant", "up", None),
    ]


async def test_http_probe_own_client_against_a_down_port(unused_port: int) -> None:
    probe = http_probe(f"http://127.0.0.1:{unused_port}/health", timeout=1.0)
    report = await ReadinessChecker([probe]).check()
    assert (report.results[0].status, report.results[0].error) == ("down", "ConnectError")


async def test_a_stubborn_probe_is_not_started_again_until_it_ends() -> None:
    """Polling /ready while a probe ignores cancellation used to pile up one task per poll."""
    release = asyncio.Event()
    starts = 0

    async def stubborn() -> None:
        nonlocal starts
        starts += 1
        try:
            await asyncio.Event().wait()  # until the checker's timeout cancels it
        except asyncio.CancelledError:
            await release.wait()

    checker = ReadinessChecker([Probe("stubborn", stubborn, timeout=0.05)])
    first = await checker.check()
    again = [await checker.check() for _ in range(3)]
    assert first.results[0].status == "timeout"
    assert [r.results[0].error for r in again] == ["the previous check has not ended yet"] * 3
    assert [r.results[0].status for r in again] == ["timeout"] * 3
    assert starts == 1
    release.set()
    await eventually(lambda: not checker._stragglers)
    await checker.check()
    assert starts == 2


async def test_a_hung_sync_probe_holds_at_most_one_thread() -> None:
    """A blocked worker thread outlives the cancelled task: it is watched, not re-spawned."""
    release = threading.Event()
    threads: list[int] = []

    def blocked() -> None:
        threads.append(threading.get_ident())
        release.wait(30)

    checker = ReadinessChecker([Probe("blocked", blocked, timeout=0.05)])
    try:
        for _ in range(4):
            report = await checker.check()
            assert report.results[0].status == "timeout"
        assert len(threads) == 1
    finally:
        release.set()
    await eventually(checker._abandoned["blocked"][1].is_set)
    await checker.check()
    assert len(threads) == 2


@pytest.fixture
def health_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Warnings of the ``mic.healthcheck`` logger.

    Re-enabled first: Alembic's generated ``env.py`` (run by tests/datastorage) calls
    ``logging.config.fileConfig``, which disables every logger that exists at that time.
    """
    logger = logging.getLogger("mic.healthcheck")
    was_disabled, logger.disabled = logger.disabled, False
    try:
        with caplog.at_level("WARNING", logger="mic.healthcheck"):
            yield caplog
    finally:
        logger.disabled = was_disabled


async def test_a_failure_is_logged_without_credentials(
    health_log: pytest.LogCaptureFixture,
) -> None:
    report = await ReadinessChecker([Probe("db", _down)]).check()
    assert report.results[0].error == "ConnectionRefusedError"
    assert "secret" not in health_log.text
    assert "ConnectionRefusedError: postgres://app:[REDACTED]@db refused" in health_log.text


async def test_an_exception_without_text_is_still_reported(
    health_log: pytest.LogCaptureFixture,
) -> None:
    class MuteError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    async def mute() -> None:
        raise MuteError

    report = await ReadinessChecker([Probe("m", mute)]).check()
    assert (report.results[0].status, report.results[0].error) == ("down", "MuteError")
    assert "MuteError: (no description)" in health_log.text

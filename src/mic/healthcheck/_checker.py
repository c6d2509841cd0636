"""`ReadinessChecker`: run every dependency probe concurrently, each under its own timeout.

A probe that hangs cannot hold the answer back: it is cancelled when its timeout passes,
and the checker answers without waiting for the cancellation to finish.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from mic._checks import check_duration
from mic._errors import MicError
from mic.redaction import RedactionPolicy

logger = logging.getLogger("mic.healthcheck")
_SCRUB: Final = RedactionPolicy()

DEFAULT_PROBE_TIMEOUT: Final = 2.0

ProbeStatus = Literal["up", "down", "timeout"]
ReadinessStatus = Literal["ready", "degraded", "not_ready"]
ProbeCheck = Callable[[], Awaitable[object] | object]


class ProbeFailedError(MicError):
    """A probe's check answered ``False`` or a status it does not accept."""


@dataclass(frozen=True, slots=True)
class Probe:
    """One dependency check.

    Attributes:
        name: Key of the probe in the readiness answer (unique per checker).
        check: A callable; async callables are awaited, sync ones run in a worker thread.
            It fails by raising or by returning ``False``; anything else is success.
        timeout: Seconds before the check counts as failed (status ``timeout``).
        required: Whether a failure makes the service not ready (optional probes only
            degrade it).
    """

    name: str
    check: ProbeCheck
    timeout: float = DEFAULT_PROBE_TIMEOUT
    required: bool = True
    is_async: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a probe needs a name")
        if not callable(self.check):
            raise TypeError(f"probe {self.name!r}: check is not callable")
        check_duration(f"probe {self.name!r}: timeout", self.timeout)
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.check))

    async def run(self) -> None:
        """Run the check once, without a timeout.

        Raises:
            ProbeFailedError: The check answered ``False``.
            Exception: Whatever the check raised.
        """
        await self._execute(None)

    async def _execute(self, thread_exited: threading.Event | None) -> None:
        # `thread_exited` is set when a sync check's worker thread returns: cancelling the
        # awaiting task does not stop the thread, so the checker watches this instead.
        if self.is_async:
            result = await self.check()  # type: ignore[misc]
        else:
            result = await asyncio.to_thread(_call_in_thread, self.check, thread_exited)
            if inspect.isawaitable(result):
                result = await result
        if result is False:
            raise ProbeFailedError(f"probe {self.name!r} answered False")


def _describe(error: BaseException) -> str:
    try:
        return _SCRUB.scrub_text(str(error))
    except Exception:  # noqa: BLE001 - an exception whose str() fails
        return "(no description)"


def _call_in_thread(check: ProbeCheck, exited: threading.Event | None) -> object:
    try:
        return check()
    finally:
        if exited is not None:
            exited.set()


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome of one probe.

    Attributes:
        name: The probe's name.
        status: ``up``, ``down`` or ``timeout``.
        required: Whether the probe is required.
        duration: Seconds the check took (up to its timeout).
        error: Exception type name or a short reason; never the exception message, which
            may hold a connection string.
    """

    name: str
    status: ProbeStatus
    required: bool
    duration: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        document: dict[str, Any] = {
            "status": self.status,
            "required": self.required,
            "duration_ms": round(self.duration * 1000, 3),
        }
        if self.error is not None:
            document["error"] = self.error
        return document


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    """The outcome of every probe.

    Attributes:
        results: One result per probe, in the checker's order.
    """

    results: tuple[ProbeResult, ...]

    @property
    def status(self) -> ReadinessStatus:
        """``not_ready`` if a required probe failed, ``degraded`` if an optional one did."""
        failed = [r for r in self.results if r.status != "up"]
        if any(r.required for r in failed):
            return "not_ready"
        return "degraded" if failed else "ready"

    @property
    def ready(self) -> bool:
        """Whether every required probe is up."""
        return self.status != "not_ready"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: overall status and one entry per probe."""
        return {"status": self.status, "probes": {r.name: r.to_dict() for r in self.results}}


class ReadinessChecker:
    """Run probes concurrently, each under its own timeout.

    Args:
        probes: The probes; names must be unique.

    A probe that does not finish in time is cancelled and reported as ``timeout``; the
    checker does not wait for it to acknowledge the cancellation. Until such an abandoned
    run has really ended (a check that ignores cancellation, or a sync check whose worker
    thread is still blocked), the probe is not started again: it is reported as
    ``timeout`` at once, so a hung dependency holds at most one task and one thread per
    probe however often ``/ready`` is polled. Safe to call from many requests at once
    (each call runs every probe).

    Raises:
        ValueError: Two probes share a name.
    """

    def __init__(self, probes: Sequence[Probe]) -> None:
        names = [p.name for p in probes]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"probe names must be unique: {duplicates}")
        self.probes = tuple(probes)
        self._stragglers: set[asyncio.Task[None]] = set()
        self._abandoned: dict[str, tuple[asyncio.Task[None], threading.Event]] = {}

    async def check(self) -> ReadinessReport:
        """Run every probe once and report."""
        results = await asyncio.gather(*(self._run(p) for p in self.probes))
        return ReadinessReport(tuple(results))

    async def _run(self, probe: Probe) -> ProbeResult:
        previous = self._abandoned.get(probe.name)
        if previous is not None:
            if not (previous[0].done() and previous[1].is_set()):
                return ProbeResult(probe.name, "timeout", probe.required, 0.0,
                                   "the previous check has not ended yet")  # fmt: skip
            del self._abandoned[probe.name]
        started = time.perf_counter()
        exited = threading.Event()
        if probe.is_async:
            exited.set()  # nothing of an async check runs outside its task
        task = asyncio.create_task(
            probe._execute(None if probe.is_async else exited), name=f"mic-probe-{probe.name}"
        )
        try:
            done, _ = await asyncio.wait({task}, timeout=probe.timeout)
        except BaseException:
            self._abandon(task)
            raise
        elapsed = time.perf_counter() - started
        if not done:
            self._abandon(task)
            self._abandoned[probe.name] = (task, exited)
            logger.warning("readiness probe %s timed out after %ss", probe.name, probe.timeout)
            return ProbeResult(probe.name, "timeout", probe.required, elapsed,
                               f"no answer within {probe.timeout}s")  # fmt: skip
        error = None if task.cancelled() else task.exception()
        if task.cancelled() or error is not None:
            reason = type(error).__name__ if error is not None else "CancelledError"
            # The exception text may hold a connection string: it is logged only through
            # the default redaction (URL passwords, ``password=...``), never answered.
            detail = _describe(error) if error is not None else "cancelled"
            logger.warning("readiness probe %s failed: %s: %s", probe.name, reason, detail)
            return ProbeResult(probe.name, "down", probe.required, elapsed, reason)
        return ProbeResult(probe.name, "up", probe.required, elapsed)

    def _abandon(self, task: asyncio.Task[None]) -> None:
        task.cancel()
        self._stragglers.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._stragglers.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log "never retrieved"

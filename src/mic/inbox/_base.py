"""The `Inbox` contract: exactly-once effects on at-least-once delivery.

A consumer handles an event inside a unit of work that first records ``(group, event id)``
and then runs the handler; both commit together. A redelivered event finds its id recorded
and is acknowledged without running the handler again; a handler that fails rolls the
record back with its own writes, so the retry runs it again.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar

from mic._checks import check_duration
from mic.eventbus import Event

Clock = Callable[[], float]
"""Seconds since the epoch (``time.time``); injected in tests."""

DEFAULT_RETENTION = 7 * 24 * 3600.0


class Inbox(ABC):
    """Remembers which events a consumer group has processed, in the handler's transaction.

    Pass it to `EventBus.subscribe(..., inbox=inbox)`; the handler's writes must go through
    the same backend (the SQL engine of `SqlInbox`; any in-memory storage for
    `InMemoryInbox`) to commit with the record. Effects elsewhere (an e-mail, a Redis write)
    are not covered: a crash after them and before the commit repeats them once.

    Args:
        retention: Seconds an id is remembered. Keep it longer than any redelivery can
            come late (``ack_timeout`` times ``max_attempts``, an outbox backlog, a replay).
        purge_interval: `process` deletes expired ids at most this often (``None``: never;
            call `purge` yourself).
        clock: Wall clock in seconds (default `time.time`).

    Raises:
        ValueError: A non-finite or non-positive duration.
    """

    probe_name: ClassVar[str] = "inbox"
    """Key of this backend in the readiness answer (`mic.healthcheck.ping_probe`)."""

    async def ping(self) -> None:
        """Raise if the backend cannot serve; this in-process one always can.

        `mic.healthcheck.ping_probe` builds the readiness probe from it. Backends on a
        server override it with a cheap round trip on their own client.
        """
        return

    def __init__(
        self,
        *,
        retention: float = DEFAULT_RETENTION,
        purge_interval: float | None = 3600.0,
        clock: Clock | None = None,
    ) -> None:
        check_duration("retention", retention)
        check_duration("purge_interval", purge_interval, optional=True)
        self.retention = retention
        self.purge_interval = purge_interval
        self.clock = clock or time.time
        self._last_purge = self.clock()
        self.duplicates = 0
        """How many redelivered events this inbox acknowledged without running the handler."""

    async def process(
        self, event: Event, group: str, handler: Callable[[], Awaitable[Any]]
    ) -> bool:
        """Run `handler` once for `event` in `group`, recording the id in the same commit.

        Returns:
            ``True`` when the handler ran (and committed), ``False`` for a duplicate.

        Raises:
            Exception: Whatever the handler raised (nothing was recorded: retry it).
        """
        ran = False
        async with self.unit_of_work():
            if await self._record(group, event.id, self.clock()):
                await handler()
                ran = True
        if not ran:
            self.duplicates += 1
        await self._maybe_purge()
        return ran

    async def _maybe_purge(self) -> None:
        if self.purge_interval is None or self.clock() - self._last_purge < self.purge_interval:
            return
        self._last_purge = self.clock()
        await self.purge()

    @abstractmethod
    def unit_of_work(self) -> AbstractAsyncContextManager[Any]:
        """Open (or join) the unit of work the record and the handler's writes share."""

    @abstractmethod
    async def _record(self, group: str, event_id: str, now: float) -> bool:
        """Record the id in the open unit of work; ``False`` if it was already there."""

    @abstractmethod
    async def seen(self, group: str, event_id: str) -> bool:
        """Whether `group` has processed `event_id` (committed)."""

    @abstractmethod
    async def purge(self, *, older_than: float | None = None) -> int:
        """Forget ids processed more than `older_than` seconds ago (default `retention`).

        Returns:
            How many ids were forgotten.
        """

    @abstractmethod
    async def forget_group(self, group: str) -> int:
        """Forget every id of `group` (before rebuilding a projection from scratch)."""

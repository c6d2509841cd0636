"""`OutboxDispatcher`: publishes stored events to the bus, at least once, in order.

Each round claims a batch, publishes its records in sequence order and stops at the first
failure (so a dispatcher never publishes a later event before an earlier one), marks what
was published, and backs off before trying the failed record again. A record is marked
only after the bus confirmed it, so a crash between the two publishes it again: consumers
deduplicate on `Event.id`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

from mic._checks import check_count, check_duration
from mic._errors import MicError
from mic._waiting import exponential_backoff
from mic.eventbus import EventBus
from mic.outbox._store import OutboxBatch, OutboxStore

logger = logging.getLogger("mic.outbox")


@dataclass(frozen=True, slots=True)
class DispatcherOptions:
    """How often and how much a dispatcher publishes.

    Attributes:
        batch_size: Records claimed per round.
        poll_interval: Seconds between rounds when the outbox is drained (`notify` wakes
            the dispatcher earlier).
        retry_delay: Pause after the first failed round; doubled per consecutive failure.
        max_retry_delay: Upper bound of that pause.
        publish_timeout: Seconds one publish may take before it counts as failed.

    Raises:
        ValueError: A value out of range.
    """

    batch_size: int = 100
    poll_interval: float = 1.0
    retry_delay: float = 0.5
    max_retry_delay: float = 30.0
    publish_timeout: float = 10.0

    def __post_init__(self) -> None:
        check_count("batch_size", self.batch_size)
        for name in ("poll_interval", "publish_timeout", "retry_delay", "max_retry_delay"):
            check_duration(name, getattr(self, name))
        if self.max_retry_delay < self.retry_delay:
            raise ValueError("need 0 < retry_delay <= max_retry_delay")


class OutboxPublishError(MicError):
    """Publishing a record failed; it stays in the outbox and is retried."""


class OutboxDispatcher:
    """Moves events from an `OutboxStore` to an `EventBus`.

    Run one (or, on PostgreSQL, several) per service: ``asyncio.create_task(d.run())``
    and ``await d.stop()`` at shutdown. `run_once` does a single round (tests, cron).

    Args:
        store: The outbox.
        bus: Where events are published.
        options: Batch size, polling and retry timing.
        name: This dispatcher's id in leases and logs (default: random).
    """

    def __init__(
        self,
        store: OutboxStore,
        bus: EventBus,
        *,
        options: DispatcherOptions | None = None,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.options = options or DispatcherOptions()
        self.name = name or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._running = False

    def __repr__(self) -> str:
        return f"OutboxDispatcher({self.name!r})"

    async def run_once(self) -> int:
        """Claim one batch and publish it in order; returns how many were published.

        Raises:
            OutboxPublishError: A publish failed (earlier records of the batch are marked
                published; the failed one and the rest stay pending).
        """
        failure: BaseException | None = None
        async with self.store.claim(self.options.batch_size, owner=self.name) as batch:
            for record in batch.records:
                budget = self._budget(batch)
                if budget <= 0:  # the claim ran out: the rest waits for the next round
                    break
                try:
                    async with asyncio.timeout(budget):
                        await self.bus.publish(record.event)
                except Exception as error:  # noqa: BLE001 (any failure leaves the record pending)
                    if isinstance(error, TimeoutError) and budget < self.options.publish_timeout:
                        break  # the claim ran out mid-publish: not this record's failure
                    batch.mark_failed(record, error)
                    failure = error
                    break
                batch.mark_dispatched(record)
        if failure is not None:
            raise OutboxPublishError(
                f"publishing an outbox event failed ({type(failure).__name__})"
            ) from failure
        return len(batch.dispatched)

    def _budget(self, batch: OutboxBatch) -> float:
        """Seconds the next publish may take: `publish_timeout`, less if the claim ends sooner."""
        if batch.deadline is None:
            return self.options.publish_timeout
        return min(self.options.publish_timeout, batch.deadline - self.store.clock())

    def notify(self) -> None:
        """Start the next round now (for example from ``uow.on_commit``)."""
        self._wake.set()

    async def run(self) -> None:
        """Dispatch until `stop`; failures are logged and retried with backoff.

        Raises:
            RuntimeError: This dispatcher is already running.
        """
        if self._running:
            raise RuntimeError(f"{self.name} is already running")
        self._running = True
        failures = 0
        try:
            while not self._stopping.is_set():
                # Cleared before the round, not before the pause: a `notify` made while this
                # round runs (its rows committed after our read) starts another one at once.
                self._wake.clear()
                try:
                    published = await self.run_once()
                except Exception:
                    failures += 1
                    logger.warning("outbox dispatch failed (%d in a row)", failures, exc_info=True)
                    await self._pause(self._backoff(failures))
                    continue
                failures = 0
                if published < self.options.batch_size:
                    await self._pause(self.options.poll_interval)
        finally:
            self._running = False
            # Cleared here, not at the start: a `stop` made before the task first ran counts.
            self._stopping.clear()
            try:
                await self.store.release(self.name)
            except Exception:  # the lease then lapses by itself after lease_ttl
                logger.warning("releasing %s's claim failed", self.name, exc_info=True)

    def _backoff(self, failures: int) -> float:
        options = self.options
        return exponential_backoff(options.retry_delay, failures, cap=options.max_retry_delay)

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less when stopped or notified."""
        stop = asyncio.ensure_future(self._stopping.wait())
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({stop, wake}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            wake.cancel()

    async def stop(self) -> None:
        """Ask `run` to return after its current round (the caller awaits the task).

        Safe to call before the task running `run` has started: it then returns at once.
        """
        self._stopping.set()

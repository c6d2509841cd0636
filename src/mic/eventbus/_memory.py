"""`InMemoryEventBus`: the complete bus in process memory, for tests, demos and one process.

Events are stored JSON-encoded and decoded for each delivery, so a handler never shares a
mutable payload with the publisher or another group, exactly as with a networked bus.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from dataclasses import dataclass

from mic.eventbus._base import Consumer, Delivery, EventBus, Handler, SubscriptionOptions
from mic.eventbus._event import Event
from mic.eventbus._tracing import publishing


@dataclass(slots=True)
class _Item:
    data: str
    deliveries: int = 0


class _GroupQueue:
    """The events a consumer group still has to handle on one topic."""

    def __init__(self) -> None:
        self.ready: deque[_Item] = deque()
        self.delayed: list[tuple[float, int, _Item]] = []
        self.changed = asyncio.Event()
        self._order = itertools.count()

    def put(self, item: _Item) -> None:
        self.ready.append(item)
        self.changed.set()

    def put_later(self, item: _Item, due: float) -> None:
        heapq.heappush(self.delayed, (due, next(self._order), item))
        self.changed.set()

    def promote(self, now: float) -> None:
        while self.delayed and self.delayed[0][0] <= now:
            self.ready.append(heapq.heappop(self.delayed)[2])


class InMemoryEventBus(EventBus):
    """A complete `EventBus` in process memory (use it from one event loop).

    Consumer groups, explicit acknowledgement, retries with backoff, dead letters and
    graceful close behave as on Redis and NATS. A handler cannot outlive its process
    here, so ``ack_timeout`` plays no part; an event whose handler is cancelled by `close`
    goes back to the front of its group's queue. Nothing survives the process, and an
    event published to a topic without groups is dropped (as on the servers, a new group
    starts with the events published after it).

    Args:
        options: Default `SubscriptionOptions`.
    """

    messaging_system = "memory"

    def __init__(self, *, options: SubscriptionOptions | None = None) -> None:
        super().__init__(options=options)
        self._queues: dict[str, dict[str, _GroupQueue]] = {}

    def __repr__(self) -> str:
        return f"InMemoryEventBus(topics={sorted(self._queues)!r})"

    async def publish(self, event: Event) -> None:
        """Store `event` for every group subscribed to its topic."""
        self._check_publish(event)
        with publishing(self.messaging_system, event) as sent:
            data = sent.encode()
            for queue in self._queues.get(event.topic, {}).values():
                queue.put(_Item(data))

    def pending(self, topic: str, group: str) -> int:
        """Events of `topic` that `group` has not acknowledged yet (queued or retrying)."""
        queue = self._queues.get(topic, {}).get(group)
        return 0 if queue is None else len(queue.ready) + len(queue.delayed)

    def _consumer(
        self, topic: str, group: str, handler: Handler, options: SubscriptionOptions
    ) -> Consumer:
        queue = self._queues.setdefault(topic, {}).setdefault(group, _GroupQueue())
        return _MemoryConsumer(self, topic, group, handler, options, queue=queue)


class _MemoryConsumer(Consumer):
    def __init__(
        self,
        bus: EventBus,
        topic: str,
        group: str,
        handler: Handler,
        options: SubscriptionOptions,
        *,
        queue: _GroupQueue,
    ) -> None:
        super().__init__(bus, topic, group, handler, options)
        self.queue = queue

    async def fetch(self) -> list[Delivery]:
        queue = self.queue
        loop = asyncio.get_running_loop()
        while True:
            queue.promote(loop.time())
            if queue.ready:
                batch: list[Delivery] = []
                while queue.ready and len(batch) < self.options.batch_size:
                    item = queue.ready.popleft()
                    item.deliveries += 1
                    batch.append(Delivery(Event.decode(item.data), item.deliveries, item))
                return batch
            # No await between the check above and clear(): a put cannot slip in between.
            queue.changed.clear()
            wait = queue.delayed[0][0] - loop.time() if queue.delayed else None
            try:
                async with asyncio.timeout(wait):
                    await queue.changed.wait()
            except TimeoutError:
                pass

    async def ack(self, delivery: Delivery) -> None:
        del delivery  # the item is already out of the queue

    async def retry(self, delivery: Delivery, delay: float) -> None:
        self.queue.put_later(delivery.handle, asyncio.get_running_loop().time() + delay)

    async def release(self, delivery: Delivery) -> None:
        self.queue.ready.appendleft(delivery.handle)
        self.queue.changed.set()

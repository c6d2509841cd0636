"""`RedisStreamsEventBus`: one Redis stream per topic, consumer groups, XAUTOCLAIM recovery.

``XADD`` publishes; ``XREADGROUP`` delivers to one consumer of each group; ``XACK`` after
the handler succeeded; a failed event stays pending and is taken back by its consumer
(``XCLAIM``) after the backoff; an event left pending longer than ``ack_timeout`` by a
crashed consumer is taken over by another (``XAUTOCLAIM``). Requires the ``redis`` extra.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import uuid
from typing import TYPE_CHECKING, Any

from mic._deps import require
from mic._ping import ping_redis
from mic.eventbus._base import (
    Consumer,
    Delivery,
    EventBus,
    Handler,
    SubscriptionOptions,
    logger,
    undecodable_event,
)
from mic.eventbus._event import Event
from mic.model import TransientError

if TYPE_CHECKING:
    from redis.asyncio import Redis


_FIELD = "event"


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class RedisStreamsEventBus(EventBus):
    """An `EventBus` on Redis Streams (Redis >= 6.2).

    Args:
        client: A `redis.asyncio.Redis` client (its pool is used; the bus does not close
            it unless made by `from_url`). Each running consumer holds one connection
            while it waits, so size the pool above the number of subscribed topics.
        prefix: Stream key prefix: topic ``orders.created`` lives in
            ``<prefix>orders.created``.
        max_length: Approximate cap of each stream (``XADD MAXLEN ~``); ``None`` keeps
            everything. Trimming can drop an event a slow group has not read yet, so keep
            it well above the backlog you tolerate.
        options: Default `SubscriptionOptions`.

    Raises:
        MissingDependencyError: The ``redis`` extra is not installed.
        ValueError: A non-positive `max_length`.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "mic:events:",
        max_length: int | None = 1_000_000,
        options: SubscriptionOptions | None = None,
    ) -> None:
        require("redis.asyncio", "redis")
        super().__init__(options=options)
        if max_length is not None and max_length < 1:
            raise ValueError("max_length must be >= 1 (or None)")
        self.client = client
        self.prefix = prefix
        self.max_length = max_length
        self._owns_client = False

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStreamsEventBus:
        """A bus with its own client for `url`, closed by `close`.

        Raises:
            MissingDependencyError: The ``redis`` extra is not installed.
        """
        redis_asyncio = require("redis.asyncio", "redis")
        bus = cls(redis_asyncio.from_url(url), **kwargs)
        bus._owns_client = True
        return bus

    def __repr__(self) -> str:
        return f"RedisStreamsEventBus(prefix={self.prefix!r})"

    def key(self, topic: str) -> str:
        """The stream key of `topic`."""
        return self.prefix + topic

    async def publish(self, event: Event) -> None:
        """``XADD`` the event to its topic's stream.

        Raises:
            RuntimeError: The bus is closed.
            TransientError: Redis is not reachable.
        """
        self._check_publish(event)
        exceptions = require("redis.exceptions", "redis")
        try:
            await self.client.xadd(
                self.key(event.topic), {_FIELD: event.encode()}, maxlen=self.max_length,
                approximate=True,
            )  # fmt: skip
        except (exceptions.ConnectionError, exceptions.TimeoutError) as error:
            raise TransientError(
                "event_bus_unavailable", "the event bus is not reachable"
            ) from error

    async def ping(self) -> None:
        """``PING`` on this bus's Redis client: the readiness check."""
        await ping_redis(self.client)

    def _consumer(
        self, topic: str, group: str, handler: Handler, options: SubscriptionOptions
    ) -> Consumer:
        return _RedisConsumer(self, topic, group, handler, options)

    async def _close_transport(self) -> None:
        if self._owns_client:
            await self.client.aclose()


class _RedisConsumer(Consumer):
    bus: RedisStreamsEventBus

    def __init__(
        self,
        bus: RedisStreamsEventBus,
        topic: str,
        group: str,
        handler: Handler,
        options: SubscriptionOptions,
    ) -> None:
        super().__init__(bus, topic, group, handler, options)
        self.client = bus.client
        self.key = bus.key(topic)
        self.name = f"{group}-{uuid.uuid4().hex[:12]}"
        self._retries: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._next_claim = 0.0
        self._claim_cursor = "0-0"
        self._exceptions = require("redis.exceptions", "redis")

    async def setup(self) -> None:
        await self._create_group("$")

    async def _create_group(self, start: str) -> None:
        try:
            await self.client.xgroup_create(self.key, self.group, id=start, mkstream=True)
        except self._exceptions.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def teardown(self) -> None:
        # Forget this consumer's name unless it still owns pending events (deleting it
        # would drop them); those are taken over by the group's other consumers.
        mine = await self.client.xpending_range(self.key, self.group, min="-", max="+",
                                                count=1, consumername=self.name)  # fmt: skip
        if not mine:
            await self.client.xgroup_delconsumer(self.key, self.group, self.name)

    async def fetch(self) -> list[Delivery]:
        try:
            return await self._fetch()
        except self._exceptions.ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
        # The stream or its group is gone (Redis restarted without persistence, the key was
        # deleted): recreate the group from the stream's start, so that events added to the
        # new stream meanwhile are delivered rather than skipped. Pending retries went with
        # the old group.
        logger.warning("consumer group %s of %s vanished; recreated", self.group, self.key)
        self._retries.clear()
        self._claim_cursor = "0-0"
        await self._create_group("0")
        return []

    async def _fetch(self) -> list[Delivery]:
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = await self._due_retries(now)
        if due:
            return due
        if now >= self._next_claim:
            self._next_claim = now + self.options.ack_timeout / 2
            claimed = await self._claim_stuck()
            if claimed:
                return claimed
        wait = self.options.poll_timeout
        if self._retries:
            wait = min(wait, max(self._retries[0][0] - now, 0.001))
        response: Any = await self.client.xreadgroup(
            self.group, self.name, {self.key: ">"}, count=self.options.batch_size,
            block=max(1, int(wait * 1000)),
        )  # fmt: skip
        entries = [entry for _, stream_entries in response or [] for entry in stream_entries]
        return await self._deliveries(entries, attempts=None)

    async def _due_retries(self, now: float) -> list[Delivery]:
        batch: list[Delivery] = []
        while self._retries and self._retries[0][0] <= now:
            delivery = heapq.heappop(self._retries)[2]
            # Take it back only if nobody else did meanwhile (a takeover resets its idle
            # time below the delay); XCLAIM also resets idle time and counts the delivery.
            claimed = await self.client.xclaim(
                self.key, self.group, self.name, min_idle_time=delivery.handle[1],
                message_ids=[delivery.handle[0]],
            )  # fmt: skip
            if claimed and claimed[0][1]:
                delivery.attempt += 1
                batch.append(delivery)
        return batch

    async def _claim_stuck(self) -> list[Delivery]:
        response = await self.client.xautoclaim(
            self.key, self.group, self.name, min_idle_time=int(self.options.ack_timeout * 1000),
            start_id=self._claim_cursor, count=self.options.batch_size,
        )  # fmt: skip
        self._claim_cursor = _text(response[0])
        entries = [entry for entry in response[1] if entry and entry[1]]
        if not entries:
            return []
        attempts = {}
        for entry_id, _ in entries:
            info = await self.client.xpending_range(self.key, self.group, min=entry_id,
                                                    max=entry_id, count=1)  # fmt: skip
            attempts[_text(entry_id)] = int(info[0]["times_delivered"]) if info else 1
        return await self._deliveries(entries, attempts=attempts)

    async def _deliveries(
        self, entries: list[Any], *, attempts: dict[str, int] | None
    ) -> list[Delivery]:
        batch: list[Delivery] = []
        for entry_id, fields in entries:
            stream_id = _text(entry_id)
            raw = {_text(k): v for k, v in fields.items()}.get(_FIELD)
            try:
                event = Event.decode(raw if raw is not None else b"")
            except ValueError:
                await self._bury(stream_id, raw)
                continue
            attempt = 1 if attempts is None else attempts.get(stream_id, 1)
            batch.append(Delivery(event, attempt, (stream_id, 0)))
        return batch

    async def _bury(self, stream_id: str, raw: Any) -> None:
        """Move an entry that is not an event to the dead-letter stream, then drop it."""
        logger.warning("entry %s of %s is not an event; dead-lettered", stream_id, self.key)
        await self.bus.publish(undecodable_event(self.topic, self.group, _text(raw or b"")))
        await self.client.xack(self.key, self.group, stream_id)

    async def ack(self, delivery: Delivery) -> None:
        await self.client.xack(self.key, self.group, delivery.handle[0])

    async def retry(self, delivery: Delivery, delay: float) -> None:
        due = asyncio.get_running_loop().time() + delay
        delivery.handle = (delivery.handle[0], max(0, int(delay * 1000) - 1))
        heapq.heappush(self._retries, (due, next(self._order), delivery))

    async def release(self, delivery: Delivery) -> None:
        # It stays pending: another consumer of the group takes it over after ack_timeout.
        del delivery

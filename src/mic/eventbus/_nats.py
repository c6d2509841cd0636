"""`NATSEventBus`: JetStream stream, durable pull consumers, ack / nak with backoff.

All topics live in one stream whose subjects are ``<subject_prefix>.>``; each consumer
group is a durable pull consumer per topic. A failed event is nak'ed with the retry delay;
an event not acknowledged within ``ack_timeout`` is redelivered by the server; after
``max_attempts`` deliveries it is published to the dead-letter topic and acknowledged.
Publishing sets ``Nats-Msg-Id``, so the server drops a re-publish of the same event inside
its duplicate window (an outbox retry, for example). Requires the ``nats`` extra.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from mic._checks import check_duration
from mic._deps import require
from mic._ping import ping_nats
from mic.eventbus._base import (
    DEAD_LETTER_GROUP,
    Consumer,
    Delivery,
    EventBus,
    Handler,
    SubscriptionOptions,
    logger,
    undecodable_event,
)
from mic.eventbus._event import Event, check_topic
from mic.model import TransientError


class NATSEventBus(EventBus):
    """An `EventBus` on NATS JetStream.

    Args:
        client: A connected ``nats.aio.client.Client`` (not closed by the bus unless made
            by `connect`).
        stream: JetStream stream name; created on first use when missing.
        subject_prefix: Topic ``orders.created`` is subject ``<prefix>.orders.created``.
        max_age: Seconds the stream keeps events (``None``: no age limit).
        duplicate_window: Seconds during which a re-published event id is dropped.
        options: Default `SubscriptionOptions`.

    Raises:
        MissingDependencyError: The ``nats`` extra is not installed.
        ValueError: An invalid stream name or subject prefix, or non-positive durations.
    """

    def __init__(
        self,
        client: Any,
        *,
        stream: str = "MIC_EVENTS",
        subject_prefix: str = "mic.events",
        max_age: float | None = None,
        duplicate_window: float = 120.0,
        options: SubscriptionOptions | None = None,
    ) -> None:
        require("nats", "nats")
        super().__init__(options=options)
        if not stream or any(char in stream for char in " .*>"):
            raise ValueError(f"invalid stream name {stream!r}")
        check_topic(subject_prefix)
        check_duration("max_age", max_age, optional=True)
        check_duration("duplicate_window", duplicate_window)
        self.client = client
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.max_age = max_age
        self.duplicate_window = duplicate_window
        self.jetstream = client.jetstream()
        self._owns_client = False
        self._stream_ready = False
        self._stream_lock = asyncio.Lock()

    @classmethod
    async def connect(cls, servers: str | Sequence[str], **kwargs: Any) -> NATSEventBus:
        """A bus with its own connection to `servers`, closed by `close`.

        Raises:
            MissingDependencyError: The ``nats`` extra is not installed.
        """
        nats = require("nats", "nats")
        urls = [servers] if isinstance(servers, str) else list(servers)
        bus = cls(await nats.connect(servers=urls), **kwargs)
        bus._owns_client = True
        return bus

    def __repr__(self) -> str:
        return f"NATSEventBus(stream={self.stream!r}, subject_prefix={self.subject_prefix!r})"

    def subject(self, topic: str) -> str:
        """The NATS subject of `topic`."""
        return f"{self.subject_prefix}.{topic}"

    async def ensure_stream(self) -> None:
        """Create the stream unless it exists (done once, before the first use)."""
        if self._stream_ready:
            return
        async with self._stream_lock:
            if self._stream_ready:
                return
            errors = require("nats.js.errors", "nats")
            try:
                await self.jetstream.stream_info(self.stream)
            except errors.NotFoundError:
                api = require("nats.js.api", "nats")
                await self.jetstream.add_stream(api.StreamConfig(
                    name=self.stream, subjects=[f"{self.subject_prefix}.>"],
                    max_age=self.max_age, duplicate_window=self.duplicate_window,
                ))  # fmt: skip
            self._stream_ready = True

    async def publish(self, event: Event) -> None:
        """Publish and wait for JetStream's acknowledgement (the event is stored).

        Raises:
            RuntimeError: The bus is closed.
            ValueError: The encoded event exceeds the server's ``max_payload`` (1 MiB by
                default): it can never be published as it is.
            TransientError: NATS is not reachable or did not confirm in time.
        """
        self._check_publish(event)
        nats_errors = require("nats.errors", "nats")
        # The dead-letter copy keeps the event id, so the group joins the dedup key.
        message_id = f"{event.topic}/{event.id}/{event.headers.get(DEAD_LETTER_GROUP, '')}"
        data = event.encode().encode()
        limit = self.client.max_payload
        if limit and len(data) > limit:  # a permanent refusal, not an outage
            raise ValueError(
                f"event {event.id} is {len(data)} bytes encoded; the NATS server accepts at "
                f"most {limit} (max_payload)"
            )
        try:
            await self.ensure_stream()
            await self.jetstream.publish(self.subject(event.topic), data,
                                         headers={"Nats-Msg-Id": message_id})  # fmt: skip
        except (nats_errors.Error, TimeoutError) as error:
            raise TransientError(
                "event_bus_unavailable", "the event bus is not reachable"
            ) from error

    async def ping(self) -> None:
        """A PING/PONG round trip on this bus's connection: the readiness check."""
        await ping_nats(self.client)

    def durable_name(self, topic: str, group: str) -> str:
        """The durable consumer of `group` on `topic` (readable, and unique per topic)."""
        digest = hashlib.sha256(topic.encode()).hexdigest()[:8]
        return f"{group}_{topic.replace('.', '_')[:80]}_{digest}"

    def _consumer(
        self, topic: str, group: str, handler: Handler, options: SubscriptionOptions
    ) -> Consumer:
        return _NatsConsumer(self, topic, group, handler, options)

    async def _close_transport(self) -> None:
        if self._owns_client:
            await self.client.close()


class _NatsConsumer(Consumer):
    bus: NATSEventBus

    def __init__(
        self,
        bus: NATSEventBus,
        topic: str,
        group: str,
        handler: Handler,
        options: SubscriptionOptions,
    ) -> None:
        super().__init__(bus, topic, group, handler, options)
        self._subscription: Any = None
        self._timeout_error = require("nats.errors", "nats").TimeoutError

    async def setup(self) -> None:
        bus = self.bus
        await bus.ensure_stream()
        api = require("nats.js.api", "nats")
        durable = bus.durable_name(self.topic, self.group)
        config = api.ConsumerConfig(
            durable_name=durable, filter_subject=bus.subject(self.topic),
            ack_policy=api.AckPolicy.EXPLICIT, deliver_policy=api.DeliverPolicy.NEW,
            ack_wait=self.options.ack_timeout, max_deliver=-1,
        )  # fmt: skip
        # Create, or update an existing group to these options (``ack_wait`` above all):
        # `pull_subscribe` alone would silently keep the first subscriber's settings.
        await bus.jetstream.add_consumer(bus.stream, config=config)
        self._subscription = await bus.jetstream.pull_subscribe_bind(
            durable=durable, stream=bus.stream
        )

    async def teardown(self) -> None:
        await self._subscription.unsubscribe()

    async def fetch(self) -> list[Delivery]:
        try:
            messages = await self._subscription.fetch(
                self.options.batch_size, timeout=self.options.poll_timeout
            )
        except self._timeout_error:
            return []
        batch: list[Delivery] = []
        for message in messages:
            try:
                event = Event.decode(message.data)
            except ValueError:
                logger.warning("a message on %s is not an event; dead-lettered", self.topic)
                raw = message.data.decode(errors="replace")
                await self.bus.publish(undecodable_event(self.topic, self.group, raw))
                await message.ack()
                continue
            batch.append(Delivery(event, message.metadata.num_delivered, message))
        return batch

    async def ack(self, delivery: Delivery) -> None:
        await delivery.handle.ack()

    async def retry(self, delivery: Delivery, delay: float) -> None:
        await delivery.handle.nak(delay=delay)

    async def release(self, delivery: Delivery) -> None:
        await delivery.handle.nak()

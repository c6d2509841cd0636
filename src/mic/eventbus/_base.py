"""The `EventBus` contract and the delivery loop every backend shares.

A backend supplies the transport (`Consumer.fetch`, `ack`, `retry`, `release`); the loop
here runs the handler with the event's correlation id and traceparent in `mic.context`,
acknowledges only after the handler succeeded, schedules a retry with backoff after a
failure, and moves the event to its dead-letter topic after the last attempt.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

from mic import context
from mic._checks import check_count, check_duration
from mic._waiting import exponential_backoff
from mic.eventbus._event import Event, check_topic, dead_letter_topic

if TYPE_CHECKING:
    from mic.eventbus._contracts import ContractHandler
    from mic.eventbus._spec import EventSpec
    from mic.inbox import Inbox

Handler = Callable[[Event], Awaitable[None]]
"""An async callable receiving one event; raising means "not handled, retry"."""

logger = logging.getLogger("mic.eventbus")

# The consumer whose handler is running in this task: `Consumer.stop` called from inside
# that handler (a handler closing its own subscription or bus) must not wait for itself.
_handling: contextvars.ContextVar[Consumer | None] = contextvars.ContextVar(
    "mic_eventbus_handling", default=None
)

_GROUP = re.compile(r"[A-Za-z0-9_-]{1,100}")

DEAD_LETTER_GROUP = "mic-dead-letter-group"
DEAD_LETTER_TOPIC = "mic-dead-letter-topic"
DEAD_LETTER_REASON = "mic-dead-letter-reason"
DEAD_LETTER_ATTEMPTS = "mic-dead-letter-attempts"


def check_group(group: object) -> str:
    """`group` when it is a valid consumer group name (letters, digits, ``-``, ``_``).

    Raises:
        ValueError: Any other name (it becomes part of Redis and NATS names).
    """
    if not isinstance(group, str) or not _GROUP.fullmatch(group):
        raise ValueError(f"invalid group {group!r}: use 1-100 letters, digits, '-' or '_'")
    return group


def undecodable_event(topic: str, group: str, raw: str) -> Event:
    """The dead-letter event standing for a message of `topic` that is not an event."""
    headers = {DEAD_LETTER_TOPIC: topic, DEAD_LETTER_GROUP: group,
               DEAD_LETTER_REASON: "UndecodableEvent", DEAD_LETTER_ATTEMPTS: "1"}  # fmt: skip
    return Event(dead_letter_topic(topic), {"raw": raw[:65536]}, headers=headers)


@dataclass(frozen=True, slots=True)
class SubscriptionOptions:
    """How a subscription delivers, retries and gives up.

    Attributes:
        max_attempts: Handler runs per event before it goes to the dead-letter topic.
        retry_delay: Delay before the second attempt; doubled after each failure.
        max_retry_delay: Upper bound of the retry delay.
        ack_timeout: Seconds an event may stay unacknowledged (its consumer crashed or
            hangs) before the server delivers it to another consumer of the group (Redis,
            NATS). Keep it above your slowest handler plus `max_retry_delay`.
        batch_size: Events fetched per round trip.
        poll_timeout: Longest wait of one fetch for new events (Redis, NATS).
        drain_timeout: `close` waits this long for a running handler before cancelling it.
        dead_letter: Move events to ``<topic>.dead-letter`` after `max_attempts`; when
            false they are retried forever at `max_retry_delay`.

    Raises:
        ValueError: A value out of range.
    """

    max_attempts: int = 5
    retry_delay: float = 1.0
    max_retry_delay: float = 60.0
    ack_timeout: float = 30.0
    batch_size: int = 16
    poll_timeout: float = 1.0
    drain_timeout: float = 10.0
    dead_letter: bool = True

    def __post_init__(self) -> None:
        check_count("max_attempts", self.max_attempts)
        check_count("batch_size", self.batch_size)
        check_duration("retry_delay", self.retry_delay, allow_zero=True)
        check_duration("max_retry_delay", self.max_retry_delay, allow_zero=True)
        if self.max_retry_delay < self.retry_delay:
            raise ValueError("need 0 <= retry_delay <= max_retry_delay")
        for name in ("ack_timeout", "poll_timeout", "drain_timeout"):
            check_duration(name, getattr(self, name))

    def delay_after(self, attempt: int) -> float:
        """Seconds before the next attempt, after `attempt` (1-based) failed."""
        return exponential_backoff(self.retry_delay, attempt, cap=self.max_retry_delay)


@dataclass(slots=True)
class Delivery:
    """One delivery of an event to a consumer.

    Attributes:
        event: The event.
        attempt: 1 for the first delivery, then 2, 3, ...
        handle: The backend's message reference (stream id, NATS message, queue item).
    """

    event: Event
    attempt: int
    handle: Any


class Consumer(ABC):
    """One topic of one subscription: a loop fetching and handling deliveries in order."""

    def __init__(
        self,
        bus: EventBus,
        topic: str,
        group: str,
        handler: Handler,
        options: SubscriptionOptions,
    ) -> None:
        self.bus = bus
        self.topic = topic
        self.group = group
        self.handler = handler
        self.options = options
        self._stopping = False
        self._fetching = False
        self._task: asyncio.Task[None] | None = None

    async def setup(self) -> None:  # noqa: B027 (an optional hook, empty by default)
        """Create the group on the server (before `subscribe` returns)."""

    async def teardown(self) -> None:  # noqa: B027 (an optional hook, empty by default)
        """Release transport resources after the loop ended."""

    @abstractmethod
    async def fetch(self) -> list[Delivery]:
        """The next deliveries, waiting up to the poll timeout (an empty list is fine)."""

    @abstractmethod
    async def ack(self, delivery: Delivery) -> None:
        """Acknowledge: the event is handled and never delivered to this group again."""

    @abstractmethod
    async def retry(self, delivery: Delivery, delay: float) -> None:
        """Deliver the event again after `delay` seconds."""

    @abstractmethod
    async def release(self, delivery: Delivery) -> None:
        """Give back an event this consumer will not handle (it is closing)."""

    def start(self) -> None:
        """Start the delivery loop as a task."""
        self._task = asyncio.create_task(self._run(), name=f"mic-eventbus:{self.topic}")

    async def _run(self) -> None:
        try:
            await self._loop()
        finally:
            # Here rather than in `stop`, so a loop stopped from its own handler cleans up too.
            await _quietly(self.teardown())

    async def _loop(self) -> None:
        failures = 0
        while not self._stopping:
            self._fetching = True
            try:
                batch = await self.fetch()
                failures = 0
            except Exception:  # the server is away: keep trying, a little slower each time
                failures += 1
                logger.warning("fetching %s failed", self.topic, exc_info=True)
                cap = self.options.max_retry_delay
                await asyncio.sleep(exponential_backoff(0.2, failures, cap=cap))
                continue
            finally:
                self._fetching = False
            for index, delivery in enumerate(batch):
                if self._stopping:
                    await self._release_all(batch[index:])
                    break
                try:
                    await self._process(delivery)
                except asyncio.CancelledError:  # closed while the handler ran
                    await self._release_all(batch[index:])
                    raise
                except Exception:  # a bug of ours must never end the loop: retry the event
                    logger.exception("delivering event %s failed", delivery.event.id)
                    await _quietly(self.retry(delivery, self.options.max_retry_delay))

    async def _release_all(self, deliveries: list[Delivery]) -> None:
        # Backwards, so a queue that takes them back at its front keeps their order.
        for delivery in reversed(deliveries):
            await _quietly(self.release(delivery))

    async def _process(self, delivery: Delivery) -> None:
        if delivery.attempt > self.options.max_attempts and self.options.dead_letter:
            # Delivered too often without an answer: its consumers crashed or timed out.
            await self._dead_letter(delivery, "DeliveryLimitExceeded")
            return
        event = delivery.event
        error = await self._call_handler(event)
        if error is None:
            await _quietly(self.ack(delivery))
            return
        logger.warning("handler failed for event %s on %s (attempt %d)", event.id,
                       self.topic, delivery.attempt, exc_info=error)  # fmt: skip
        if delivery.attempt >= self.options.max_attempts and self.options.dead_letter:
            await self._dead_letter(delivery, type(error).__name__)
        else:
            await _quietly(self.retry(delivery, self.options.delay_after(delivery.attempt)))

    async def _call_handler(self, event: Event) -> BaseException | None:
        """Run the handler in the event's context; the exception it raised, if any."""
        ids = context.correlation_id.set(event.correlation_id)
        parent = context.traceparent.set(event.traceparent)
        handling = _handling.set(self)
        try:
            await self.handler(event)
        except asyncio.CancelledError as error:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # `close` cancelled us: stop
                raise
            return error  # the handler's own (awaited a cancelled task): a failure like any
        except Exception as error:  # noqa: BLE001 (any failure means "retry me")
            return error
        finally:
            _handling.reset(handling)
            context.traceparent.reset(parent)
            context.correlation_id.reset(ids)
        return None

    async def _dead_letter(self, delivery: Delivery, reason: str) -> None:
        event = delivery.event
        headers = {
            **event.headers,
            DEAD_LETTER_TOPIC: event.topic,
            DEAD_LETTER_GROUP: self.group,
            DEAD_LETTER_REASON: reason,
            DEAD_LETTER_ATTEMPTS: str(delivery.attempt),
        }
        dead = Event(
            topic=dead_letter_topic(event.topic), payload=event.payload, id=event.id,
            occurred_at=event.occurred_at, correlation_id=event.correlation_id,
            traceparent=event.traceparent, headers=headers,
        )  # fmt: skip
        try:
            await self.bus.publish(dead)
        except Exception:  # never lose it: keep it and try again later
            logger.warning("dead-lettering event %s failed", event.id, exc_info=True)
            await _quietly(self.retry(delivery, self.options.max_retry_delay))
            return
        await _quietly(self.ack(delivery))

    async def stop(self) -> None:
        """Stop fetching, let the running handler finish (bounded), then end the loop."""
        self._stopping = True
        task = self._task
        if task is None or task.done():
            return
        if _handling.get() is self:
            # Called from this consumer's own handler: the loop ends when it returns.
            return
        if self._fetching:
            task.cancel()
        else:
            await asyncio.wait({task}, timeout=self.options.drain_timeout)
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():  # our caller was cancelled
                raise


def _check_dead_letter_topic(topic: str) -> None:
    try:
        check_topic(dead_letter_topic(topic))
    except ValueError:
        raise ValueError(
            f"topic {topic!r} is too long for its dead-letter topic "
            f"{dead_letter_topic(topic)!r}: shorten it or pass dead_letter=False"
        ) from None


async def _quietly(action: Awaitable[None]) -> None:
    """Run a transport action; a failure is logged and the server redelivers later."""
    try:
        await action
    except Exception:
        logger.warning("event bus transport action failed", exc_info=True)


class Subscription:
    """A running subscription; `close` stops it gracefully.

    Attributes:
        topics: The subscribed topics.
        group: The consumer group.
    """

    def __init__(self, topics: tuple[str, ...], group: str, consumers: list[Consumer]) -> None:
        self.topics = topics
        self.group = group
        self._consumers = consumers
        self.closed = False

    async def close(self) -> None:
        """Stop fetching; wait for running handlers (up to ``drain_timeout``). Idempotent."""
        if self.closed:
            return
        self.closed = True
        await asyncio.gather(*(consumer.stop() for consumer in self._consumers))

    async def aclose(self) -> None:
        """The same as `close`, under the name every async resource of mic has (ADR 0068)."""
        await self.close()


class EventBus(ABC):
    """Publish events to topics; consume them in durable consumer groups.

    Every group subscribed to a topic receives each event published after the group was
    created; inside a group, each event goes to one of its consumers (competing
    consumers). Delivery is at least once: an event is acknowledged only after its handler
    returned, redelivered after a failure (with backoff) or a crash (after
    ``ack_timeout``), and moved to ``<topic>.dead-letter`` after ``max_attempts``.
    Handlers must therefore be idempotent (deduplicate on `Event.id`).

    Args:
        options: Default `SubscriptionOptions` of `subscribe`.
    """

    def __init__(self, *, options: SubscriptionOptions | None = None) -> None:
        self.options = options or SubscriptionOptions()
        self._subscriptions: list[Subscription] = []
        self._closed = False

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Publish `event` to ``event.topic``; returns once the bus has stored it.

        Raises:
            TypeError: `event` is not an `Event`.
            RuntimeError: The bus is closed.
            TransientError: The server is not reachable (networked buses).
        """

    @abstractmethod
    def _consumer(
        self, topic: str, group: str, handler: Handler, options: SubscriptionOptions
    ) -> Consumer:
        """The backend's consumer for one topic."""

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the event bus is closed")

    def _check_publish(self, event: object) -> None:
        if not isinstance(event, Event):
            raise TypeError(f"publish takes an Event, not {type(event).__name__}")
        self._check_open()

    async def subscribe(
        self,
        topics: str | Sequence[str] | EventSpec[Any] | Sequence[EventSpec[Any]],
        handler: Handler | ContractHandler,
        *,
        group: str,
        options: SubscriptionOptions | None = None,
        inbox: Inbox | None = None,
    ) -> Subscription:
        """Consume `topics` in consumer group `group` with `handler`.

        When this returns, the group exists: every event published from now on reaches
        it. Events of one topic are handled one at a time, in order (a retried event comes
        back later); subscribe several times to the same group to handle in parallel.
        While the handler runs, `mic.context.correlation_id` and `traceparent` hold the
        event's values.

        Given `EventSpec` values instead of topic names, the handler receives a validated
        `ReceivedEvent`; an event whose payload, headers or version match none of them is
        dead-lettered with the reason and never reaches the handler. Given an `inbox`
        (`mic.inbox`), the handler runs at most once per event id in this group, in the
        same unit of work as the inbox record (exactly-once effects).

        Raises:
            TypeError: `handler` is not callable, or specs mixed with topic names.
            ValueError: An invalid topic or group name, no topic, two specs of one topic
                and version, or (with dead letters) a
                topic whose ``<topic>.dead-letter`` would be longer than 200 characters.
            RuntimeError: The bus is closed.
        """
        self._check_open()
        if not callable(handler):
            raise TypeError(f"handler must be an async callable, not {type(handler).__name__}")
        chosen = options or self.options
        if inbox is not None or not isinstance(topics, str):
            from mic.eventbus._contracts import contract_handler

            check_group(group)
            topics, handler = contract_handler(
                self, topics, handler, group=group, options=chosen, inbox=inbox
            )
        names = (topics,) if isinstance(topics, str) else tuple(cast("Sequence[str]", topics))
        if not names:
            raise ValueError("subscribe needs at least one topic")
        for topic in names:
            check_topic(topic)
            if chosen.dead_letter:  # checked now, not when the first event dies
                _check_dead_letter_topic(topic)
        check_group(group)
        run = cast("Handler", handler)
        consumers = [self._consumer(topic, group, run, chosen) for topic in dict.fromkeys(names)]
        ready: list[Consumer] = []
        try:
            for consumer in consumers:
                await consumer.setup()
                ready.append(consumer)
        except BaseException:  # give back what the topics set up so far (NATS subscriptions)
            for consumer in ready:
                await _quietly(consumer.teardown())
            raise
        for consumer in consumers:
            consumer.start()
        subscription = Subscription(names, group, consumers)
        self._subscriptions.append(subscription)
        return subscription

    async def close(self) -> None:
        """Close every subscription (gracefully), then the bus's connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*(sub.close() for sub in self._subscriptions))
        self._subscriptions.clear()
        await self._close_transport()

    async def aclose(self) -> None:
        """The same as `close`, under the name every async resource of mic has (ADR 0068)."""
        await self.close()

    async def _close_transport(self) -> None:  # noqa: B027 (optional hook, empty by default)
        """Close the connection the bus owns (none by default)."""

    probe_name: ClassVar[str] = "eventbus"
    """Key of this backend in the readiness answer (`mic.healthcheck.ping_probe`)."""

    async def ping(self) -> None:
        """Raise if the backend cannot serve; this in-process one always can.

        `mic.healthcheck.ping_probe` builds the readiness probe from it. Backends on a
        server override it with a cheap round trip on their own client.
        """
        return

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

"""Durable async pub/sub under the spec's names: `AsyncEventBus` and its backends.

The toolkit has one event bus contract (ADR 0004: every I/O API is async), so
`AsyncEventBus` *is* `mic.eventbus.EventBus`; this package re-exports it with the NATS and
in-memory backends. Kafka is not shipped. See docs/events.md.
"""

from mic.eventbus import (
    Event,
    InMemoryEventBus,
    NATSEventBus,
    Subscription,
    SubscriptionOptions,
)
from mic.eventbus import EventBus as AsyncEventBus

__all__ = [
    "AsyncEventBus",
    "Event",
    "InMemoryEventBus",
    "NATSEventBus",
    "Subscription",
    "SubscriptionOptions",
]

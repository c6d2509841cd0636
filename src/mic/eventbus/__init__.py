"""Publish and consume events: the `EventBus` contract and its backends.

`InMemoryEventBus` needs nothing; `RedisStreamsEventBus` needs the ``redis`` extra and
`NATSEventBus` the ``nats`` extra. Delivery is at least once, with consumer groups,
explicit acknowledgement, retries with backoff and dead letters. See docs/events.md.
"""

from mic.eventbus._base import (
    DEAD_LETTER_ATTEMPTS,
    DEAD_LETTER_GROUP,
    DEAD_LETTER_REASON,
    DEAD_LETTER_TOPIC,
    Delivery,
    EventBus,
    Handler,
    Subscription,
    SubscriptionOptions,
)
from mic.eventbus._event import DEAD_LETTER_SUFFIX, Event, check_topic, dead_letter_topic
from mic.eventbus._memory import InMemoryEventBus
from mic.eventbus._nats import NATSEventBus
from mic.eventbus._redis import RedisStreamsEventBus

__all__ = [
    "DEAD_LETTER_ATTEMPTS",
    "DEAD_LETTER_GROUP",
    "DEAD_LETTER_REASON",
    "DEAD_LETTER_SUFFIX",
    "DEAD_LETTER_TOPIC",
    "Delivery",
    "Event",
    "EventBus",
    "Handler",
    "InMemoryEventBus",
    "NATSEventBus",
    "RedisStreamsEventBus",
    "Subscription",
    "SubscriptionOptions",
    "check_topic",
    "dead_letter_topic",
]

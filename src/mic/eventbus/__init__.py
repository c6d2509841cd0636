"""Publish and consume events: the `EventBus` contract and its backends.

`InMemoryEventBus` needs nothing; `RedisStreamsEventBus` needs the ``redis`` extra and
`NATSEventBus` the ``nats`` extra. Delivery is at least once, with consumer groups,
explicit acknowledgement, retries with backoff and dead letters. `EventSpec` makes an event a
contract (validated on both sides, documented as AsyncAPI by `build_event_asyncapi`). See
docs/events.md.
"""

from mic.eventbus._asyncapi import (
    EventCatalog,
    EventEnvelope,
    build_event_asyncapi,
    spec_channels,
    spec_message,
)
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
from mic.eventbus._contracts import DEAD_LETTER_DETAIL, ContractHandler
from mic.eventbus._event import DEAD_LETTER_SUFFIX, Event, check_topic, dead_letter_topic
from mic.eventbus._memory import InMemoryEventBus
from mic.eventbus._nats import NATSEventBus
from mic.eventbus._redis import RedisStreamsEventBus
from mic.eventbus._spec import (
    EVENT_VERSION_HEADER,
    EventContractError,
    EventSpec,
    ReceivedEvent,
    event_version,
)

__all__ = [
    "DEAD_LETTER_ATTEMPTS",
    "DEAD_LETTER_DETAIL",
    "DEAD_LETTER_GROUP",
    "DEAD_LETTER_REASON",
    "DEAD_LETTER_SUFFIX",
    "DEAD_LETTER_TOPIC",
    "EVENT_VERSION_HEADER",
    "ContractHandler",
    "Delivery",
    "Event",
    "EventBus",
    "EventCatalog",
    "EventContractError",
    "EventEnvelope",
    "EventSpec",
    "Handler",
    "InMemoryEventBus",
    "NATSEventBus",
    "ReceivedEvent",
    "RedisStreamsEventBus",
    "Subscription",
    "SubscriptionOptions",
    "build_event_asyncapi",
    "check_topic",
    "dead_letter_topic",
    "event_version",
    "spec_channels",
    "spec_message",
]

"""The public surfaces of mic.eventbus and mic.queue are pinned."""

import mic.eventbus
import mic.queue


def test_eventbus_exports() -> None:
    assert [
        "DEAD_LETTER_ATTEMPTS", "DEAD_LETTER_DETAIL", "DEAD_LETTER_GROUP", "DEAD_LETTER_REASON",
        "DEAD_LETTER_SUFFIX", "DEAD_LETTER_TOPIC", "EVENT_VERSION_HEADER", "ContractHandler",
        "Delivery", "Event", "EventBus", "EventCatalog", "EventContractError", "EventEnvelope",
        "EventSpec", "Handler", "InMemoryEventBus", "NATSEventBus", "ReceivedEvent",
        "RedisStreamsEventBus", "Subscription", "SubscriptionOptions", "build_event_asyncapi",
        "check_topic", "dead_letter_topic", "event_version", "spec_channels", "spec_message",
    ] == mic.eventbus.__all__  # fmt: skip
    for name in mic.eventbus.__all__:
        assert getattr(mic.eventbus, name) is not None


def test_queue_exports_the_spec_names() -> None:
    assert ["AsyncEventBus", "Event", "InMemoryEventBus", "NATSEventBus", "Subscription",
            "SubscriptionOptions"] == mic.queue.__all__  # fmt: skip
    assert mic.queue.AsyncEventBus is mic.eventbus.EventBus
    assert mic.queue.NATSEventBus is mic.eventbus.NATSEventBus

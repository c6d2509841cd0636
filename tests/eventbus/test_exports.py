"""The spec's names are exported by mic.eventbus and mic.queue (tests/test_public_surface.py
checks each `__all__` against its namespace)."""

import mic.eventbus
import mic.queue


def test_queue_exports_the_spec_names() -> None:
    spec_names = {"AsyncEventBus", "Event", "InMemoryEventBus", "NATSEventBus"}
    assert spec_names <= set(mic.queue.__all__)


def test_eventbus_exports_the_spec_names() -> None:
    spec_names = {"EventBus", "InMemoryEventBus", "RedisStreamsEventBus", "EventSpec"}
    assert spec_names <= set(mic.eventbus.__all__)
    assert mic.queue.AsyncEventBus is mic.eventbus.EventBus
    assert mic.queue.NATSEventBus is mic.eventbus.NATSEventBus

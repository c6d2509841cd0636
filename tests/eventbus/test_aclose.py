"""`aclose()` closes a bus and a subscription, as every async resource of mic does (ADR 0068)."""

from __future__ import annotations

import contextlib

import pytest

from mic.eventbus import Event, InMemoryEventBus


async def test_aclosing_a_bus_closes_it_and_its_subscriptions() -> None:
    async def handler(event: Event) -> None:
        """Never called: nothing is published."""

    async with contextlib.aclosing(InMemoryEventBus()) as bus:
        subscription = await bus.subscribe("t", handler, group="g")
        await subscription.aclose()
        assert subscription.closed

    with pytest.raises(RuntimeError, match="closed"):
        await bus.publish(Event("t", {}))
    await bus.aclose()  # idempotent, like close()

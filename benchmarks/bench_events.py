"""In-memory event bus: publish + consume throughput vs a plain `asyncio.Queue`, side by side.

Ours builds an `Event`, JSON-encodes it on publish, decodes it per delivery and runs the
full delivery loop (context variables, ack); the reference puts the same dict on an
`asyncio.Queue` read by one task. Informative only: there is no goal (ADR 0052 explains
the JSON round trip). Run: ``.venv/bin/python -m benchmarks.bench_events``.
"""

from __future__ import annotations

import asyncio
import time

from mic.eventbus import Event, InMemoryEventBus

EVENTS = 20_000
ROUNDS = 3


async def _ours() -> float:
    done = asyncio.Event()
    count = 0

    async def handler(event: Event) -> None:
        nonlocal count
        count += 1
        if count == EVENTS:
            done.set()

    async with InMemoryEventBus() as bus:
        await bus.subscribe("bench.topic", handler, group="bench")
        started = time.perf_counter()
        for n in range(EVENTS):
            await bus.publish(Event("bench.topic", {"n": n, "name": "order"}))
        await done.wait()
        return EVENTS / (time.perf_counter() - started)


async def _reference() -> float:
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    done = asyncio.Event()

    async def consume() -> None:
        for _ in range(EVENTS):
            await queue.get()
            queue.task_done()
        done.set()

    task = asyncio.create_task(consume())
    started = time.perf_counter()
    for n in range(EVENTS):
        await queue.put({"n": n, "name": "order"})
    await done.wait()
    rate = EVENTS / (time.perf_counter() - started)
    await task
    return rate


def main() -> None:
    """Print ours vs the reference (best of a few rounds each)."""
    ours = max(asyncio.run(_ours()) for _ in range(ROUNDS))
    reference = max(asyncio.run(_reference()) for _ in range(ROUNDS))
    print(
        f"in-memory publish+consume: ours {ours:,.0f} ops/s, reference {reference:,.0f} ops/s, "
        f"ratio {ours / reference:.2f}x (goal >= none, informative)"
    )


if __name__ == "__main__":
    main()

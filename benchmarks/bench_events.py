"""In-memory event bus: publish + consume throughput vs a plain `asyncio.Queue`, side by side.

Ours builds an `Event`, JSON-encodes it on publish, decodes it per delivery and runs the
full delivery loop (context variables, ack). Two references on an `asyncio.Queue` read by
one task: the bare dict (the floor), and the same work written by hand (an envelope with
id, time and correlation id, JSON on put, JSON on get, the correlation id set around the
handler), which is the fair comparison. Informative only: there is no goal (ADR 0052
explains the JSON round trip). Run: ``.venv/bin/python -m benchmarks.bench_events``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

from benchmarks import _callgrind
from benchmarks._callgrind import Comparison
from mic import context
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


async def _reference_envelope() -> float:
    queue: asyncio.Queue[str] = asyncio.Queue()
    done = asyncio.Event()
    handled = 0

    async def handler(envelope: dict[str, object]) -> None:
        nonlocal handled
        handled += 1

    async def consume() -> None:
        for _ in range(EVENTS):
            envelope = json.loads(await queue.get())
            token = context.correlation_id.set(envelope["correlation_id"])
            try:
                await handler(envelope)
            finally:
                context.correlation_id.reset(token)
            queue.task_done()
        done.set()

    task = asyncio.create_task(consume())
    started = time.perf_counter()
    for n in range(EVENTS):
        envelope = {"id": uuid.uuid4().hex, "topic": "bench.topic",
                    "payload": {"n": n, "name": "order"},
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "correlation_id": context.correlation_id.get()}  # fmt: skip
        await queue.put(json.dumps(envelope, separators=(",", ":")))
    await done.wait()
    rate = EVENTS / (time.perf_counter() - started)
    await task
    return rate


def _line(name: str, ours: float, reference: float) -> str:
    return (
        f"{name}: ours {ours:,.0f} ops/s, reference {reference:,.0f} ops/s, "
        f"ratio {ours / reference:.2f}x (goal >= none, informative)"
    )


def main() -> None:
    """Print ours vs the references (best of a few rounds each, interleaved)."""
    ours, bare, envelope = 0.0, 0.0, 0.0
    for _ in range(ROUNDS):
        ours = max(ours, asyncio.run(_ours()))
        bare = max(bare, asyncio.run(_reference()))
        envelope = max(envelope, asyncio.run(_reference_envelope()))
    print(_line("in-memory publish+consume vs hand-written JSON envelope queue", ours, envelope))
    print(_line("in-memory publish+consume vs bare asyncio.Queue of dicts", ours, bare))


if __name__ == "__main__":
    main()


async def callgrind_cases() -> list[Comparison]:
    """Publish one event and let it be handled: ours against the hand-written envelope queue.

    Each operation waits until its event was handled, so a region holds whole deliveries.
    """
    handled = asyncio.Event()

    async def handler(event: Event) -> None:
        handled.set()

    bus = InMemoryEventBus()
    await bus.__aenter__()  # open for the whole deterministic run
    _callgrind.at_exit.append(bus.close)
    await bus.subscribe("bench.topic", handler, group="bench")

    async def ours() -> None:
        handled.clear()
        await bus.publish(Event("bench.topic", {"n": 1, "name": "order"}))
        await handled.wait()

    queue: asyncio.Queue[str] = asyncio.Queue()
    reference_handled = asyncio.Event()

    async def reference_handler(envelope: dict[str, object]) -> None:
        reference_handled.set()

    async def consume() -> None:
        while True:
            envelope = json.loads(await queue.get())
            token = context.correlation_id.set(envelope["correlation_id"])
            try:
                await reference_handler(envelope)
            finally:
                context.correlation_id.reset(token)
            queue.task_done()

    consumers.append(asyncio.create_task(consume()))

    async def reference() -> None:
        reference_handled.clear()
        envelope = {
            "id": uuid.uuid4().hex,
            "topic": "bench.topic",
            "payload": {"n": 1, "name": "order"},
            "occurred_at": datetime.now(UTC).isoformat(),
            "correlation_id": context.correlation_id.get(),
        }
        await queue.put(json.dumps(envelope, separators=(",", ":")))
        await reference_handled.wait()

    return [
        Comparison("in-memory publish+consume vs hand-written JSON envelope queue", ours, reference)
    ]


consumers: list[asyncio.Task[None]] = []  # kept referenced while the deterministic run lasts

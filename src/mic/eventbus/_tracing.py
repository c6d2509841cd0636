"""Producer and consumer spans for events (OpenTelemetry messaging semantic conventions).

A publish runs in a ``send <topic>`` span (kind producer) whose parent is the trace the
event carries (so an event published later by the outbox dispatcher continues the request
that wrote it), and the event leaves stamped with that span's ``traceparent``/``tracestate``.
A handler runs in a ``process <topic>`` span (kind consumer) continuing that context. Without
the OpenTelemetry API nothing happens; without an SDK the trace context passes unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mic._trace import start_span, trace_headers, tracer
from mic.eventbus._event import Event


def _carried(event: Event) -> dict[str, str] | None:
    if event.traceparent is None:
        return None
    carried = {"traceparent": event.traceparent}
    if event.tracestate is not None:
        carried["tracestate"] = event.tracestate
    return carried


def _attributes(system: str, operation: str, event: Event) -> dict[str, Any]:
    return {
        "messaging.system": system,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.destination.name": event.topic,
        "messaging.message.id": event.id,
    }


@contextmanager
def publishing(system: str, event: Event) -> Iterator[Event]:
    """A producer span around one publish; yields `event` carrying the span's context."""
    if tracer() is None:
        yield event
        return
    attributes = _attributes(system, "send", event)
    with start_span(f"send {event.topic}", "PRODUCER", attributes, parent=_carried(event)):
        current = trace_headers()
        parent = current.get("traceparent")
        if parent is not None and parent != event.traceparent:
            event = dataclasses.replace(
                event, traceparent=parent, tracestate=current.get("tracestate")
            )
        yield event


@contextmanager
def processing(system: str, group: str, event: Event) -> Iterator[Any]:
    """A consumer span around one handler run, continuing the event's trace."""
    if tracer() is None:
        yield None
        return
    attributes = _attributes(system, "process", event)
    attributes["messaging.consumer.group.name"] = group
    with start_span(
        f"process {event.topic}", "CONSUMER", attributes, parent=_carried(event)
    ) as span:
        yield span

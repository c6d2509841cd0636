"""`mic._trace` without OpenTelemetry: every helper is a no-op and ids still pass through."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = """
import asyncio, importlib.abc, sys
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "opentelemetry":
            raise ImportError(name)
sys.meta_path.insert(0, Blocker())

from mic import MissingDependencyError, _trace, context
from mic.eventbus import Event, InMemoryEventBus
from mic.http import HttpRouteSpec, compile_routes, HttpRouterConfig
from mic.observability import TracingInterceptor

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
print(_trace.tracer(), _trace.current_span(), _trace.server_span_in_progress())
with _trace.start_span("x", "CLIENT", {}) as span:
    print(span)
_trace.set_error(None, "x")
context.traceparent.set(PARENT)
context.tracestate.set("a=1")
print(_trace.trace_headers() == {"traceparent": PARENT, "tracestate": "a=1"})
event = Event("t")
print(event.traceparent == PARENT, event.tracestate)

async def main():
    seen = []
    delivered = asyncio.Event()
    async def handler(e):
        seen.append(e)
        delivered.set()
    async with InMemoryEventBus() as bus:
        await bus.subscribe("t", handler, group="g")
        await bus.publish(event)
        await asyncio.wait_for(delivered.wait(), 30)
    print(seen[0] == event)
asyncio.run(main())

async def h() -> None: ...
try:
    compile_routes([HttpRouteSpec(method="GET", path="/", name="n", category="c", handler=h)],
                   HttpRouterConfig(interceptors=(TracingInterceptor(),)))
except MissingDependencyError as error:
    print(error.extra)
"""


def test_everything_works_without_opentelemetry() -> None:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ["None None None", "None", "True", "True a=1", "True", "tracing"] == (
        result.stdout.splitlines()
    ), result.stderr


def test_the_helpers_are_no_ops_in_process_without_the_api(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mic import _trace
    from mic.eventbus import Event
    from mic.eventbus._tracing import processing, publishing

    monkeypatch.setattr(_trace, "otel", lambda: None)
    assert (None, None, None) == (
        _trace.tracer(),
        _trace.current_span(),
        _trace.server_span_in_progress(),
    )
    with _trace.start_span("x", "CLIENT", {}) as span:
        assert span is None
    event = Event("t")
    with publishing("memory", event) as sent:
        assert sent is event
    with processing("memory", "g", event) as span:
        assert span is None


def test_a_global_sdk_provider_is_used_when_mic_has_none(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from mic import _trace

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _trace.use_provider(None)
    assert _trace.tracer() is None  # nothing configured: no spans at all
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    with _trace.start_span("x", "INTERNAL", {}) as span:
        assert span.is_recording()
    assert ["x"] == [s.name for s in exporter.get_finished_spans()]

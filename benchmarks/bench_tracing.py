"""Benchmark: mic's server span (`TracingInterceptor`) against OpenTelemetry's ASGI middleware.

Both sides serve the same compiled mic route (`GET /items/{item_id}`) as a plain ASGI app
with the same SDK provider, exporting to a sink that drops spans. Ours adds
`TracingInterceptor` to the route; the reference wraps the untraced route in
`opentelemetry.instrumentation.asgi.OpenTelemetryMiddleware` (what the FastAPI instrumentor
and Litestar's plugin use), configured to make one span per request as ours does.
Goal: ours is at least as fast (ratio ours / reference >= 1.0).

Run: ``.venv/bin/python -m benchmarks.bench_tracing`` (wall clock) or ``python -m benchmarks
--callgrind bench_tracing`` (instructions per request: spans are exported synchronously to the
sink, so every request's whole cost falls inside its measured region).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from benchmarks import _callgrind
from benchmarks._callgrind import Comparison, Goal
from mic import _trace
from mic.http import HttpRouterConfig, HttpRouteSpec, compile_routes
from mic.observability import TracingInterceptor, configure_tracing

GOAL = 1.0
DURATION = 6.0
BATCH = 500
HEADERS = [
    (b"host", b"api.test"),
    (b"user-agent", b"bench"),
    (b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
]


class Sink(SpanExporter):
    """Drops every span (the export cost is not what is measured)."""

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


async def get_item(*, item_id: int) -> dict[str, int]:
    return {"id": item_id}


ROUTE = HttpRouteSpec(
    method="GET", path="/items/{item_id}", name="items.get", category="items", handler=get_item
)


def _scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/items/7",
        "raw_path": b"/items/7",
        "query_string": b"",
        "root_path": "",
        "headers": HEADERS,
        "client": ("127.0.0.1", 5000),
        "server": ("api.test", 80),
        "path_params": {"item_id": "7"},
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: dict[str, Any]) -> None:
    return None


async def _round(app: Any) -> float:
    started = time.perf_counter()
    for _ in range(BATCH):
        await app(_scope(), _receive, _send)
    return BATCH / (time.perf_counter() - started)


def _apps() -> tuple[Any, Any, Any]:
    """The provider, our traced route and the reference (the plain route in the middleware)."""
    provider = configure_tracing("bench", exporter=Sink(), batch=False, set_global=False)
    (traced,) = compile_routes([ROUTE], HttpRouterConfig(interceptors=(TracingInterceptor(),)))
    (plain,) = compile_routes([ROUTE])
    # One span per request on both sides: the middleware's receive/send spans are left out.
    reference_app = OpenTelemetryMiddleware(
        plain, tracer_provider=provider, exclude_spans=["receive", "send"]
    )
    return provider, traced, reference_app


async def _run() -> tuple[float, float]:
    provider, traced, reference_app = _apps()
    ours = reference = 0.0
    deadline = time.perf_counter() + DURATION
    while time.perf_counter() < deadline:
        reference = max(reference, await _round(reference_app))
        ours = max(ours, await _round(traced))
    _trace.use_provider(None)
    provider.shutdown()
    return ours, reference


async def callgrind_cases() -> list[Comparison]:
    """One traced request per operation on each side, both exporting to the same sink."""
    provider, traced, reference_app = _apps()

    async def release() -> None:
        _trace.use_provider(None)
        provider.shutdown()

    _callgrind.at_exit.append(release)

    async def ours() -> None:
        await traced(_scope(), _receive, _send)

    async def reference() -> None:
        await reference_app(_scope(), _receive, _send)

    return [
        Comparison(
            "server span per request vs OTel ASGI middleware",
            ours,
            reference,
            Goal(GOAL),
            reference_label="OTel middleware",
        )
    ]


def main() -> None:
    """Alternate rounds of both sides, keep each side's best rate, print the ratio."""
    ours, reference = asyncio.run(_run())
    print(
        f"server span per request: ours {ours:,.0f} req/s, reference (OTel ASGI middleware) "
        f"{reference:,.0f} req/s, ratio {ours / reference:.2f}x (goal >= {GOAL:.2f})"
    )


if __name__ == "__main__":
    main()

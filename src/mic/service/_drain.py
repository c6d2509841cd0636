"""`DrainInterceptor`: counts requests in flight, and refuses new ones once shutdown began."""

from __future__ import annotations

import asyncio

from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Interceptor,
    RouteInterceptor,
)
from mic.model import TransientError


class DrainInterceptor(RouteInterceptor):
    """The outermost interceptor of a `Service`'s routes.

    While the service runs it counts requests in flight; once `begin_drain` is called, new
    requests get a 503 problem (``shutting_down``) and `wait_idle` returns when the last
    request in flight has answered. Servers such as uvicorn stop accepting connections on
    SIGTERM and wait for open requests themselves; this keeps the same promise under any
    server and bounds the wait by the service's deadline.
    """

    def __init__(self) -> None:
        self.in_flight = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor | None:
        """The per-request counter."""
        return self._intercept

    async def _intercept(self, context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
        if self.draining:
            raise TransientError("shutting_down", "the service is shutting down; retry elsewhere")
        self.in_flight += 1
        self._idle.clear()
        try:
            return await call_next(context)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    def begin_drain(self) -> None:
        """Refuse new requests from now on."""
        self.draining = True

    def reopen(self) -> None:
        """Accept requests again (the service was started again)."""
        self.draining = False

    async def wait_idle(self, seconds: float) -> bool:
        """Wait until no request is in flight, at most `seconds`; whether it is idle."""
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

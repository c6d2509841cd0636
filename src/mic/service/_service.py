"""`Service`: resources and workers started in dependency order, served by either framework."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from mic.healthcheck import ReadinessChecker, health_route, ping_probe, readiness_route
from mic.http import HttpRouterConfig, HttpRouteSpec, RouteInterceptor
from mic.service._components import (
    Handle,
    ResourceHandle,
    ServiceConfigurationError,
    ServiceError,
    ServiceStartError,
    WorkerHandle,
    start_order,
)
from mic.service._drain import DrainInterceptor

if TYPE_CHECKING:
    from mic.healthcheck import Probe
    from mic.realtime import WebSocketRouteSpec
    from mic.settings import MicSettings

logger = logging.getLogger("mic.service")

T = TypeVar("T")
State = Literal["stopped", "starting", "running", "stopping"]
FRAMEWORKS = ("fastapi", "litestar")


class Service:
    """A service: its routes, and the resources and workers they use, with one lifecycle.

    Resources (storages, engines, buses, caches...) are opened at start in `depends_on`
    order and closed at stop in reverse; each gets a readiness probe named after it when it
    is added (its ``ping()`` when it has one). Workers (an outbox dispatcher, anything with
    ``run()`` and ``stop()``) run as tasks while the service runs. Event consumers are
    resources whose value is a subscription.

    Start is all or nothing: when a component fails, those already started are stopped
    again (in reverse) and `ServiceStartError` is raised. Stop refuses new requests (503
    ``shutting_down``), waits for the requests and handlers in flight until
    ``settings.http.shutdown_timeout``, stops workers and consumers, then closes resources.

    `build_app` gives an ASGI app on FastAPI or Litestar with this lifecycle as its
    lifespan; ``async with service:`` runs it without a server (tests, scripts).

    Args:
        settings: The settings (default: `MicSettings.load()` at first use).
        routes: The service's own routes; ``/health`` and ``/ready`` are added.
        config: Router configuration (interceptors, services, default auth); the drain
            interceptor is put outermost.
        title: The OpenAPI title (default: ``settings.service.name``).
        version: The OpenAPI version (default: ``settings.service.version``).
        metrics: Serve ``/metrics`` and count requests (extra ``observability``).
        correlation_id: Add the correlation-id interceptor.
    """

    def __init__(
        self,
        settings: MicSettings | None = None,
        *,
        routes: Sequence[HttpRouteSpec] = (),
        config: HttpRouterConfig | None = None,
        title: str | None = None,
        version: str | None = None,
        metrics: bool = False,
        correlation_id: bool = True,
    ) -> None:
        self._settings = settings
        self.routes: list[HttpRouteSpec] = list(routes)
        self.realtime_routes: list[WebSocketRouteSpec] = []
        self.config = config or HttpRouterConfig()
        self.title = title
        self.version = version
        self.metrics = metrics
        self.correlation_id = correlation_id
        self.drain = DrainInterceptor()
        self._handles: list[Handle[Any]] = []
        self._probes: list[Probe] = []
        self._started: list[Handle[Any]] = []
        self.state: State = "stopped"
        self.readiness = ReadinessChecker(())

    def __repr__(self) -> str:
        return f"Service({self.title or 'mic'!r}, {self.state}, {[h.name for h in self._handles]})"

    @property
    def settings(self) -> MicSettings:
        """The settings (loaded from the environment at first use when none were given).

        Raises:
            SettingsError: The environment holds bad settings.
        """
        if self._settings is None:
            from mic.settings import MicSettings

            self._settings = MicSettings.load()
        return self._settings

    # --- declaring components ----------------------------------------------------------

    def add_resource(
        self,
        name: str,
        open: Callable[[], T | Awaitable[T]],
        *,
        close: Callable[[T], Awaitable[None] | None] | None = None,
        depends_on: Sequence[str | Handle[Any]] = (),
        probe: bool = True,
        required: bool = True,
        probe_timeout: float | None = None,
    ) -> Handle[T]:
        """Declare a resource; its value is ``handle.get()`` while the service runs.

        Args:
            name: Unique name; also the key of its probe in ``/ready``.
            open: Makes the value (sync or async), called at start after `depends_on`.
            close: Releases it at stop (default: its ``aclose``, ``close`` or ``dispose``).
            depends_on: Components (names or handles) started before and stopped after.
            probe: Register a readiness probe (the value's ``ping()`` when it has one;
                down while the service is not running).
            required: Whether the probe failing makes the service not ready.
            probe_timeout: The probe's timeout in seconds (default 2).

        Raises:
            ServiceConfigurationError: The name is empty or taken, or the service runs.
        """
        handle: ResourceHandle[T] = ResourceHandle(name, open, close, self._names(depends_on))
        return self._add(handle, probe=probe, required=required, timeout=probe_timeout)

    def add_worker(
        self,
        name: str,
        worker: Callable[[], T | Awaitable[T]],
        *,
        depends_on: Sequence[str | Handle[Any]] = (),
        probe: bool = True,
    ) -> Handle[T]:
        """Declare a worker: ``worker()`` builds an object with ``run()`` and ``stop()``.

        Its ``run()`` becomes a task at start; at stop, ``stop()`` is called and the task
        awaited until the shutdown deadline, then cancelled. Its probe is up while the task
        runs (a crashed worker makes the service not ready).

        Raises:
            ServiceConfigurationError: The name is empty or taken, or the service runs.
        """
        handle: WorkerHandle[T] = WorkerHandle(name, worker, self._names(depends_on))
        return self._add(handle, probe=probe, required=True, timeout=None)

    def add_consumer(
        self,
        name: str,
        bus: Handle[Any],
        topics: str | Sequence[str],
        handler: Callable[[Any], Awaitable[None]],
        *,
        group: str,
        depends_on: Sequence[str | Handle[Any]] = (),
        options: Any = None,
    ) -> Handle[Any]:
        """Subscribe `handler` to `topics` on `bus` while the service runs.

        The subscription starts after `bus` (and `depends_on`) and is closed before them:
        fetching stops and the handler in flight finishes (bounded by the subscription's
        ``drain_timeout``).

        Raises:
            ServiceConfigurationError: The name is empty or taken, or the service runs.
        """

        async def subscribe() -> Any:
            return await bus.get().subscribe(topics, handler, group=group, options=options)

        return self.add_resource(name, subscribe, depends_on=(bus, *depends_on), probe=False)

    def add_routes(self, *routes: HttpRouteSpec) -> None:
        """Serve `routes` too (before `build_app`)."""
        self.routes.extend(routes)

    def add_realtime_routes(self, *routes: WebSocketRouteSpec) -> None:
        """Serve WebSocket `routes` too (before `build_app`; extra ``realtime``).

        They are mounted with the same router configuration as the HTTP routes, so their
        handshakes run the same interceptors; ``config.services`` must hold the
        `mic.realtime.RealtimeHub` they use.
        """
        self.realtime_routes.extend(routes)

    def _names(self, depends_on: Sequence[str | Handle[Any]]) -> tuple[str, ...]:
        return tuple(d if isinstance(d, str) else d.name for d in depends_on)

    def _add(
        self, handle: Handle[T], *, probe: bool, required: bool, timeout: float | None
    ) -> Handle[T]:
        if self.state != "stopped":
            raise ServiceConfigurationError(f"cannot add {handle.name!r}: the service runs")
        if not handle.name:
            raise ServiceConfigurationError("a component needs a name")
        if any(h.name == handle.name for h in self._handles):
            raise ServiceConfigurationError(f"the service already has {handle.name!r}")
        self._handles.append(handle)
        if probe:
            self._probes.append(
                ping_probe(handle, name=handle.name, required=required, timeout=timeout)
            )
            self.readiness = ReadinessChecker(self._probes)
        return handle

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start every component in dependency order; all or nothing.

        Raises:
            ServiceConfigurationError: An unknown or circular dependency.
            ServiceStartError: A component failed; the ones started before it were stopped.
            ServiceError: The service is not stopped.
        """
        if self.state != "stopped":
            raise ServiceError(f"cannot start: the service is {self.state}")
        order = start_order(self._handles)
        self.state = "starting"
        self.drain.reopen()
        for handle in order:
            try:
                await handle.start()
            except Exception as error:  # noqa: BLE001 - any failure unwinds the start
                failure = ServiceStartError(handle.name, error)
                # Scrubbed, and without the traceback: a driver's message or the failing
                # line may hold a connection string. The original is `failure.error`.
                logger.error("%s", failure)  # noqa: TRY400
                await self._stop_started(self._close_deadline())
                self.state = "stopped"
                raise failure from None
            self._started.append(handle)
        self.state = "running"

    async def stop(self) -> None:
        """Refuse new requests, drain the ones in flight, then stop everything in reverse.

        Waits for requests in flight at most ``settings.http.shutdown_timeout`` seconds in
        all (the drain and the workers share the deadline). Never raises for a component
        that fails to close (it is logged). Idempotent.
        """
        if self.state != "running":
            return
        self.state = "stopping"
        deadline = self._close_deadline()
        self.drain.begin_drain()
        loop = asyncio.get_running_loop()
        if not await self.drain.wait_idle(deadline - loop.time()):
            logger.warning(
                "%d requests still in flight at the shutdown deadline", self.drain.in_flight
            )
        await self._stop_started(deadline)
        self.state = "stopped"

    def _close_deadline(self) -> float:
        timeout = self._settings.http.shutdown_timeout if self._settings is not None else 30.0
        return asyncio.get_running_loop().time() + timeout

    async def _stop_started(self, deadline: float) -> None:
        while self._started:
            await self._started.pop().stop(deadline)

    async def __aenter__(self) -> Service:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def lifespan(self, app: object = None) -> AbstractAsyncContextManager[None]:
        """The lifecycle as a framework lifespan: ``FastAPI(lifespan=service.lifespan)``,
        ``Litestar(lifespan=[service.lifespan])``."""
        del app
        return self._lifespan()

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    # --- serving --------------------------------------------------------------------------

    def all_routes(self) -> tuple[HttpRouteSpec, ...]:
        """The service's routes with ``/health``, ``/ready`` (and ``/metrics``)."""
        routes = [*self.routes, health_route(), readiness_route(self.readiness)]
        if self.metrics:
            from mic.observability import metrics_route

            routes.append(metrics_route(self._registry()))
        return tuple(routes)

    def router_config(self) -> HttpRouterConfig:
        """`config` with the drain (outermost), server spans (when ``MIC_TRACING__ENABLED``),
        correlation-id and metrics interceptors."""
        extra: list[RouteInterceptor] = [self.drain]
        if self._settings is not None and self._settings.tracing.enabled:
            from mic.observability import TracingInterceptor

            extra.append(TracingInterceptor())
        if self.correlation_id:
            from mic.observability import CorrelationIdInterceptor

            extra.append(CorrelationIdInterceptor())
        if self.metrics:
            from mic.observability import HttpMetricsInterceptor, PrometheusMetricsBackend

            extra.append(HttpMetricsInterceptor(PrometheusMetricsBackend(self._registry())))
        return dataclasses.replace(self.config, interceptors=(*extra, *self.config.interceptors))

    def _registry(self) -> Any:
        registry = getattr(self, "_metrics_registry", None)
        if registry is None:
            from mic._deps import require

            registry = require("prometheus_client", "observability").CollectorRegistry()
            self._metrics_registry = registry
        return registry

    def build_app(self, framework: str | None = None, **options: Any) -> Any:
        """An ASGI app serving this service on `framework`, with the lifecycle as lifespan.

        Args:
            framework: ``fastapi`` or ``litestar`` (default: ``settings.http.framework``).
            options: Passed to `build_fastapi_app` / `build_litestar_app`.

        Raises:
            ValueError: An unknown framework.
            MissingDependencyError: The framework's extra is missing.
        """
        chosen = (framework or self.settings.http.framework).strip().lower()
        if chosen not in FRAMEWORKS:
            raise ValueError(f"framework must be one of {', '.join(FRAMEWORKS)}, not {chosen!r}")
        title = self.title or (self._settings.service.name if self._settings else "mic service")
        version = self.version or (self._settings.service.version if self._settings else "0.1.0")
        common: dict[str, Any] = {
            "routes": self.all_routes(),
            "config": self.router_config(),
            "title": title,
            "version": version,
        }
        if chosen == "fastapi":
            from mic.fastapi import build_fastapi_app, build_fastapi_realtime_router

            app = build_fastapi_app(**common, lifespan=self.lifespan, **options)
            if self.realtime_routes:
                live = build_fastapi_realtime_router(
                    routes=self.realtime_routes, config=common["config"]
                )
                app.include_router(live)
            return app
        from mic.litestar import build_litestar_app, build_litestar_realtime_router

        lifespans = [self.lifespan, *options.pop("lifespan", [])]
        if self.realtime_routes:
            mounted = build_litestar_realtime_router(
                routes=self.realtime_routes, config=common["config"]
            )
            options["route_handlers"] = [*options.get("route_handlers", []), mounted]
        return build_litestar_app(**common, lifespan=lifespans, **options)

    def serve(self, framework: str | None = None) -> None:
        """Serve with uvicorn on ``settings.http.host:port`` until SIGINT or SIGTERM.

        On SIGTERM uvicorn stops accepting connections and waits for open requests up to
        ``settings.http.shutdown_timeout``; then the lifespan stops the service. With
        ``MIC_TRACING__ENABLED`` it sets up tracing first and flushes the spans at exit.

        Raises:
            MissingDependencyError: The ``server`` extra (uvicorn) is missing.
        """
        from mic._deps import require

        uvicorn = require("uvicorn", "server")
        settings = self.settings
        http = settings.http
        provider = settings.tracing.apply(settings.service.name)
        try:
            uvicorn.run(
                self.build_app(framework),
                host=http.host,
                port=http.port,
                log_config=None,
                timeout_graceful_shutdown=math.ceil(http.shutdown_timeout),
            )
        finally:
            if provider is not None:
                provider.shutdown()  # flushes the spans still batched

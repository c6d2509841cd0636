"""What a `Service` owns: resources (opened, probed, closed) and workers (run, then stopped)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from mic._errors import MicError
from mic.redaction import RedactionPolicy

logger = logging.getLogger("mic.service")
_SCRUB = RedactionPolicy()

T = TypeVar("T")


class ServiceError(MicError):
    """The root of the lifecycle's errors.

    ::

        ServiceError
        ├── ServiceConfigurationError  (bad names, unknown or circular depends_on)
        ├── ServiceStartError          (a component failed to start; the rest was unwound)
        └── ServiceNotStartedError     (a resource was read before the service started)
    """


class ServiceConfigurationError(ServiceError, ValueError):
    """A component is declared wrongly: a duplicate name, an unknown or circular dependency."""


class ServiceStartError(ServiceError):
    """A component failed to start; everything started before it has been stopped again.

    It is raised ``from None``: the original exception (whose message or traceback may
    hold a connection string) is kept in `error`, not printed with this one.

    Attributes:
        component: The name of the component that failed.
        error: The exception it raised.
    """

    def __init__(self, component: str, error: BaseException) -> None:
        self.component = component
        self.error = error
        # The message of a driver error may hold a connection string: scrubbed.
        detail = describe(error)
        super().__init__(f"starting {component!r} failed: {type(error).__name__}: {detail}")


class ServiceNotStartedError(ServiceError, RuntimeError):
    """A resource was read while the service is not running."""


def describe(error: BaseException) -> str:
    """The exception's message with URL passwords and ``password=...`` scrubbed."""
    try:
        return _SCRUB.scrub_text(str(error))
    except Exception:  # noqa: BLE001 - an exception whose str() fails
        return "(no description)"


class Worker(Protocol):
    """A long-running job: `run` until `stop` is called (`OutboxDispatcher` is one)."""

    def run(self) -> Awaitable[None]:
        """Work until stopped."""
        ...  # pragma: no cover - a protocol has no body

    def stop(self) -> Awaitable[None]:
        """Ask `run` to return soon (after the work in hand)."""
        ...  # pragma: no cover - a protocol has no body


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def default_close(value: object) -> None:
    """Close `value` by the first of ``aclose()``, ``close()``, ``dispose()`` it has."""
    for method in ("aclose", "close", "dispose"):
        closer = getattr(value, method, None)
        if callable(closer):
            await _maybe_await(closer())
            return


class Handle(Generic[T]):
    """A component's value, available while the service runs.

    Attributes:
        name: The component's name (also its readiness probe's name).
        depends_on: Names of the components started before it.
    """

    def __init__(self, name: str, depends_on: Sequence[str]) -> None:
        self.name = name
        self.depends_on = tuple(depends_on)
        self._value: T | None = None
        self._started = False

    def __repr__(self) -> str:
        state = "started" if self._started else "stopped"
        return f"{type(self).__name__}({self.name!r}, {state})"

    @property
    def started(self) -> bool:
        """Whether the component is running."""
        return self._started

    def get(self) -> T:
        """The value.

        Raises:
            ServiceNotStartedError: The service is not running.
        """
        if not self._started:
            raise ServiceNotStartedError(f"{self.name!r} is not started: start the service first")
        return self._value  # type: ignore[return-value]

    async def start(self) -> None:  # pragma: no cover - overridden
        """Open or launch the component."""
        raise AssertionError

    async def stop(self, deadline: float) -> None:  # pragma: no cover - overridden
        """Close or stop the component, waiting at most until the loop time `deadline`."""
        raise AssertionError

    async def ping(self) -> None:
        """Raise unless the component is started and answers its own ``ping()`` if any.

        Raises:
            ServiceNotStartedError: The component is not running.
        """
        value = self.get()
        ping = getattr(value, "ping", None)
        if callable(ping):
            await _maybe_await(ping())


class ResourceHandle(Handle[T]):
    """A resource: opened at start (in dependency order), closed at stop (in reverse)."""

    def __init__(
        self,
        name: str,
        opener: Callable[[], T | Awaitable[T]],
        closer: Callable[[T], Awaitable[None] | None] | None,
        depends_on: Sequence[str],
    ) -> None:
        super().__init__(name, depends_on)
        self._opener = opener
        self._closer = closer

    async def start(self) -> None:
        """Open the resource."""
        self._value = await _maybe_await(self._opener())
        self._started = True
        logger.info("service resource %s started", self.name)

    async def stop(self, deadline: float) -> None:
        """Close the resource; an error is logged, never raised (the others still close)."""
        if not self._started:
            return
        value, self._started, self._value = self._value, False, None
        remaining = max(deadline - asyncio.get_running_loop().time(), 0.0)
        try:
            async with asyncio.timeout(max(remaining, MIN_CLOSE_TIME)):
                if self._closer is not None:
                    await _maybe_await(self._closer(value))  # type: ignore[arg-type]
                else:
                    await default_close(value)
        except Exception:
            logger.exception("closing %s failed", self.name)
            return
        logger.info("service resource %s stopped", self.name)


# Closing gets at least this long even after the drain used up the deadline: a connection
# pool closed abruptly leaves server-side sessions behind.
MIN_CLOSE_TIME = 1.0


class WorkerHandle(Handle[T]):
    """A worker: its ``run()`` runs as a task from start; at stop it is asked to stop,
    then waited for until the deadline, then cancelled."""

    def __init__(
        self, name: str, factory: Callable[[], T | Awaitable[T]], depends_on: Sequence[str]
    ) -> None:
        super().__init__(name, depends_on)
        self._factory = factory
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Build the worker and start its ``run()`` task."""
        worker = await _maybe_await(self._factory())
        if not callable(getattr(worker, "run", None)) or not callable(
            getattr(worker, "stop", None)
        ):
            raise TypeError(f"worker {self.name!r} needs run() and stop() methods")
        self._value = worker
        self._task = asyncio.create_task(self._run(worker), name=f"mic-worker-{self.name}")
        self._started = True
        logger.info("service worker %s started", self.name)

    async def _run(self, worker: Any) -> None:
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("service worker %s crashed", self.name)

    async def ping(self) -> None:
        """Raise unless the worker's task is running.

        Raises:
            ServiceNotStartedError: The worker is not running.
            RuntimeError: Its task has ended (it crashed or returned).
        """
        self.get()
        if self._task is None or self._task.done():
            raise RuntimeError(f"worker {self.name!r} is not running")

    async def stop(self, deadline: float) -> None:
        """Ask the worker to stop; wait for it until `deadline`, then cancel it."""
        if not self._started:
            return
        worker, task = self._value, self._task
        self._started, self._value, self._task = False, None, None
        if task is None:  # pragma: no cover - set together with _started
            return
        try:
            await _maybe_await(worker.stop())  # type: ignore[union-attr]
        except Exception:
            logger.exception("stopping %s failed", self.name)
        remaining = max(deadline - asyncio.get_running_loop().time(), 0.0)
        done, _ = await asyncio.wait({task}, timeout=remaining)
        if not done:
            logger.warning("service worker %s did not stop in time: cancelled", self.name)
            task.cancel()
            await asyncio.wait({task})
        logger.info("service worker %s stopped", self.name)


def start_order(handles: Sequence[Handle[Any]]) -> list[Handle[Any]]:
    """`handles` sorted so that each comes after what it depends on (stable otherwise).

    Raises:
        ServiceConfigurationError: An unknown dependency, or a cycle.
    """
    by_name = {handle.name: handle for handle in handles}
    for handle in handles:
        unknown = [name for name in handle.depends_on if name not in by_name]
        if unknown:
            raise ServiceConfigurationError(
                f"{handle.name!r} depends on {unknown}, which the service does not have"
            )
    ordered: list[Handle[Any]] = []
    placed: set[str] = set()
    remaining = list(handles)
    while remaining:
        ready = [h for h in remaining if all(name in placed for name in h.depends_on)]
        if not ready:
            names = sorted(h.name for h in remaining)
            raise ServiceConfigurationError(f"circular depends_on between {names}")
        ordered.append(ready[0])
        placed.add(ready[0].name)
        remaining.remove(ready[0])
    return ordered

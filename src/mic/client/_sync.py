"""`SyncServiceHttpClient`: the same client for code without an event loop (ADR 0004).

It owns a private event loop in a daemon thread and runs `ServiceHttpClient` there, so both
behave identically (retries, breaker, signing, error mapping). The caller's context
variables (correlation id, ``traceparent``) travel with each call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from mic.client._client import ServiceHttpClient

if TYPE_CHECKING:
    import httpx

    from mic.http import HttpRouteSpec

T = TypeVar("T")


class SyncServiceHttpClient:
    """A blocking twin of `ServiceHttpClient`, for scripts, CLIs and sync workers.

    Takes the same arguments as `ServiceHttpClient`. Do not call it from async code: it
    blocks the calling thread until the answer arrives. Use it as a context manager or call
    `close`, which also stops its thread.
    """

    def __init__(self, base_url: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="mic-sync-client", daemon=True
        )
        self._thread.start()
        try:
            self._client = ServiceHttpClient(base_url, **options)
        except BaseException:
            self._stop()
            raise

    def __enter__(self) -> SyncServiceHttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and stop the loop thread."""
        if self._loop.is_closed():
            return
        self._run(self._client.aclose())
        self._stop()

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        """`ServiceHttpClient.request`, blocking."""
        return self._run(self._client.request(method, url, **options))

    def get(self, url: str, **options: Any) -> httpx.Response:
        """`request` with GET."""
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        """`request` with POST."""
        return self.request("POST", url, **options)

    def put(self, url: str, **options: Any) -> httpx.Response:
        """`request` with PUT."""
        return self.request("PUT", url, **options)

    def patch(self, url: str, **options: Any) -> httpx.Response:
        """`request` with PATCH."""
        return self.request("PATCH", url, **options)

    def delete(self, url: str, **options: Any) -> httpx.Response:
        """`request` with DELETE."""
        return self.request("DELETE", url, **options)

    def call(self, route: HttpRouteSpec, /, **options: Any) -> Any:
        """`ServiceHttpClient.call`, blocking."""
        return self._run(self._client.call(route, **options))

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        context = contextvars.copy_context()
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def start() -> None:
            task = self._loop.create_task(coroutine, context=context)
            task.add_done_callback(lambda done: _settle(done, result))

        self._loop.call_soon_threadsafe(start)
        return result.result()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def _settle(task: asyncio.Task[T], result: concurrent.futures.Future[T]) -> None:
    error = task.exception()
    if error is not None:
        result.set_exception(error)
    else:
        result.set_result(task.result())

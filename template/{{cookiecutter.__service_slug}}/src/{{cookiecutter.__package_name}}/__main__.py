"""``python -m {{ cookiecutter.__package_name }}``: serve the service with uvicorn (``make run``).

Logs are JSON lines by default (``MIC_LOGGING__FORMAT=text`` for a terminal); host, port
and the shutdown deadline come from ``MIC_HTTP__*``. On SIGTERM uvicorn stops accepting
connections and waits for requests in flight (up to ``MIC_HTTP__SHUTDOWN_TIMEOUT``), then
the service closes its resources.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import uvicorn

from {{ cookiecutter.__package_name }}.app import create_app
from {{ cookiecutter.__package_name }}.settings import Settings


def serve(settings: Settings) -> None:  # pragma: no cover - runs the server until stopped
    """Run uvicorn with the app of `settings` until SIGTERM or SIGINT."""
    http = settings.http
    uvicorn.run(
        create_app(settings),
        host=http.host,
        port=http.port,
        log_config=None,
        timeout_graceful_shutdown=math.ceil(http.shutdown_timeout),
    )


def main(run: Callable[[Settings], None] = serve) -> None:
    """Load the settings (failing with every bad one at once), configure logs, serve."""
    settings = Settings.load()
    settings.logging.apply()
    run(settings)


if __name__ == "__main__":  # pragma: no cover
    main()

"""``python -m {{ cookiecutter.__package_name }}``: serve the service with uvicorn (``make run``).

Logs are JSON lines by default (``MIC_LOGGING__FORMAT=text`` for a terminal); host, port
and the shutdown deadline come from ``MIC_HTTP__*``.
"""

from __future__ import annotations

from collections.abc import Callable

from mic.service import Service

from {{ cookiecutter.__package_name }}.service import build_service
from {{ cookiecutter.__package_name }}.settings import Settings


def serve(service: Service) -> None:  # pragma: no cover - runs the server until stopped
    """Run uvicorn until SIGTERM or SIGINT."""
    service.serve("{{ cookiecutter.http_framework }}")


def main(run: Callable[[Service], None] = serve) -> None:
    """Load the settings (failing with every bad one at once), configure logs, serve."""
    settings = Settings.load()
    settings.logging.apply()
    run(build_service(settings))


if __name__ == "__main__":  # pragma: no cover
    main()

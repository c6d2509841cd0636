"""Importing the packages needs no extra; using a feature without its extra names the extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"prometheus_client", "opentelemetry"}:
                raise ImportError(f"blocked {name}")
            return None

    sys.meta_path.insert(0, Blocker())
    import mic.healthcheck, mic.observability, mic.outbox, mic.redaction
    from mic import MissingDependencyError
    from mic.observability import counter, log_context

    assert log_context()["trace_id"] is None
    try:
        counter("x_total")
    except MissingDependencyError as error:
        print("counter:", error.extra)
    try:
        mic.observability.RedactingSpanProcessor
    except MissingDependencyError as error:
        print("tracing:", error.extra)
    """
)


def test_packages_import_without_extras() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["counter: observability", "tracing: tracing"]

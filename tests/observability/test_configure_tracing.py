"""`configure_tracing`: one call sets up the SDK, redaction included."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mic import _trace
from mic.observability import configure_tracing


@pytest.fixture
def restore() -> Any:
    """Give mic's spans back to the global provider afterwards."""
    yield
    _trace.use_provider(None)


def test_spans_carry_the_service_name_and_are_redacted(restore: None) -> None:
    exporter = InMemorySpanExporter()
    provider = configure_tracing(
        "orders-api",
        exporter=exporter,
        batch=False,
        set_global=False,
        resource_attributes={"deployment.environment.name": "test"},
    )
    with _trace.tracer().start_as_current_span("op", attributes={"password": "hunter2"}):
        pass
    (span,) = exporter.get_finished_spans()
    assert "orders-api" == span.resource.attributes["service.name"]
    assert "test" == span.resource.attributes["deployment.environment.name"]
    assert "password" not in (span.attributes or {})
    assert "mic" == span.instrumentation_scope.name  # type: ignore[union-attr]
    provider.shutdown()


def test_batching_exports_on_flush(restore: None) -> None:
    exporter = InMemorySpanExporter()
    provider = configure_tracing("svc", exporter=exporter, set_global=False)
    with _trace.tracer().start_as_current_span("op"):
        pass
    assert provider.force_flush()
    assert ["op"] == [span.name for span in exporter.get_finished_spans()]
    provider.shutdown()


@pytest.mark.parametrize("name", ["console", "otlp"])
def test_exporters_by_name(name: str, restore: None) -> None:
    provider = configure_tracing("svc", exporter=name, set_global=False)
    assert provider.resource.attributes["service.name"] == "svc"
    provider.shutdown()


def test_no_exporter_still_makes_valid_spans(restore: None) -> None:
    provider = configure_tracing("svc", exporter=None, set_global=False)
    with _trace.tracer().start_as_current_span("op") as span:
        assert span.get_span_context().is_valid
    provider.shutdown()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"service_name": ""}, ValueError, "service_name must be a non-empty string"),
        ({"service_name": "  "}, ValueError, "service_name must be a non-empty string"),
        ({"service_name": "s", "exporter": "jaeger"}, ValueError, "exporter must be .*'jaeger'"),
        ({"service_name": "s", "exporter": object()}, TypeError, "not object"),
    ],
)
def test_bad_arguments_are_refused(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        configure_tracing(**kwargs)


def test_a_console_exporter_instance_is_accepted(restore: None) -> None:
    provider = configure_tracing("svc", exporter=ConsoleSpanExporter(), set_global=False)
    provider.shutdown()


def test_the_global_provider_is_installed_once() -> None:
    """In a fresh interpreter: the first call installs it, a second one only warns."""
    script = textwrap.dedent("""
        import logging
        from opentelemetry import trace
        from mic.observability import configure_tracing
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
        first = configure_tracing("a", exporter=None)
        print(trace.get_tracer_provider() is first)
        second = configure_tracing("b", exporter=None)
        print(trace.get_tracer_provider() is first)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert ["True", "True"] == result.stdout.split(), result.stderr
    assert "a global tracer provider is already installed" in result.stderr


def test_configure_tracing_names_its_extra_without_the_sdk() -> None:
    script = textwrap.dedent("""
        import importlib.abc, sys
        class Blocker(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.startswith("opentelemetry.sdk"):
                    raise ImportError(name)
        sys.meta_path.insert(0, Blocker())
        from mic import MissingDependencyError
        import mic.observability
        try:
            mic.observability.configure_tracing
        except MissingDependencyError as error:
            print(error.extra)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert "tracing" == result.stdout.strip(), result.stderr

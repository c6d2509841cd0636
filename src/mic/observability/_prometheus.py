"""Prometheus: idempotent `counter`/`gauge`/`histogram`, a `MetricsBackend`, and ``/metrics``.

prometheus-client (extra ``observability``) is imported where it is used, so
``import mic.observability`` works without it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from mic._deps import require
from mic.http import HttpResponseSpec, HttpRouteSpec
from mic.observability._backends import (
    MetricKind,
    MetricsBackend,
    check_label_names,
    check_metric_name,
)

PROMETHEUS_TEXT: Final = "text/plain; version=0.0.4; charset=utf-8"
"""Media type of the Prometheus text exposition format 0.0.4."""


@dataclass(frozen=True, slots=True)
class _Registered:
    kind: MetricKind
    labelnames: tuple[str, ...]
    buckets: tuple[float, ...] | None
    metric: Any


_registered: weakref.WeakKeyDictionary[Any, dict[str, _Registered]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _prometheus() -> Any:
    return require("prometheus_client", "observability")


def _register(
    kind: MetricKind,
    name: str,
    *,
    documentation: str,
    labelnames: Sequence[str],
    registry: Any,
    buckets: Sequence[float] | None = None,
) -> Any:
    prometheus = _prometheus()
    check_metric_name(name)
    labels = tuple(labelnames)
    check_label_names(name, labels)
    target = registry if registry is not None else prometheus.REGISTRY
    # prometheus-client exposes counter `x` as `x_total`: `x` and `x_total` are one metric.
    key = name.removesuffix("_total") if kind == "counter" else name
    wanted_buckets = tuple(buckets) if buckets is not None else None
    with _lock:
        metrics = _registered.setdefault(target, {})
        base = name.removesuffix("_total")
        # A counter `x` also owns `x_total`: look under every name the metric may clash on.
        known = next((metrics[k] for k in (key, name, base, base + "_total") if k in metrics), None)
        if known is not None:
            if (known.kind, known.labelnames) != (kind, labels) or (
                buckets is not None and known.buckets != wanted_buckets
            ):
                raise ValueError(
                    f"metric {name!r} is already registered as a {known.kind} with labels "
                    f"{known.labelnames}"
                    + (f" and buckets {known.buckets}" if known.buckets is not None else "")
                )
            return known.metric
        options: dict[str, Any] = {"registry": target}
        if wanted_buckets is not None:
            options["buckets"] = wanted_buckets
        factory = {
            "counter": prometheus.Counter,
            "gauge": prometheus.Gauge,
            "histogram": prometheus.Histogram,
        }[kind]
        metric = factory(name, documentation or name, labels, **options)
        metrics[key] = _Registered(kind, labels, wanted_buckets, metric)
        return metric


def counter(
    name: str, documentation: str = "", labelnames: Sequence[str] = (), *, registry: Any = None
) -> Any:
    """A Prometheus counter; registering the same name again returns the same counter.

    Args:
        name: Metric name (``orders_total``; ``_total`` is added when missing).
        documentation: The ``# HELP`` text.
        labelnames: Label names; ``.labels(...)`` must then give exactly these.
        registry: A ``CollectorRegistry``; the default registry when ``None``.

    Raises:
        ValueError: Invalid names, or the name is registered with another kind or labels.
        MissingDependencyError: prometheus-client is not installed (extra ``observability``).
    """
    return _register(
        "counter", name, documentation=documentation, labelnames=labelnames, registry=registry
    )


def gauge(
    name: str, documentation: str = "", labelnames: Sequence[str] = (), *, registry: Any = None
) -> Any:
    """A Prometheus gauge; registering the same name again returns the same gauge.

    Raises:
        ValueError: Invalid names, or the name is registered with another kind or labels.
        MissingDependencyError: prometheus-client is not installed (extra ``observability``).
    """
    return _register(
        "gauge", name, documentation=documentation, labelnames=labelnames, registry=registry
    )


def histogram(
    name: str,
    documentation: str = "",
    labelnames: Sequence[str] = (),
    *,
    buckets: Sequence[float] | None = None,
    registry: Any = None,
) -> Any:
    """A Prometheus histogram; registering the same name again returns the same histogram.

    Args:
        name: Metric name, in base units (``request_duration_seconds``).
        documentation: The ``# HELP`` text.
        labelnames: Label names.
        buckets: Upper bounds; prometheus-client's defaults when ``None``. A later call
            that passes other buckets is an error; one that passes none gets the existing.
        registry: A ``CollectorRegistry``; the default registry when ``None``.

    Raises:
        ValueError: Invalid names, or the name is registered with another kind, labels or
            buckets.
        MissingDependencyError: prometheus-client is not installed (extra ``observability``).
    """
    return _register(
        "histogram",
        name,
        documentation=documentation,
        labelnames=labelnames,
        registry=registry,
        buckets=buckets,
    )


class PrometheusMetricsBackend(MetricsBackend):
    """Records into prometheus-client metrics, created on first use (or found if registered).

    Register a metric beforehand with `counter`/`gauge`/`histogram` (same registry) to give
    it help text or buckets; otherwise its label names are those of its first emission.

    Args:
        registry: A ``CollectorRegistry``; the default registry when ``None``.

    Raises:
        MissingDependencyError: prometheus-client is not installed (extra ``observability``).
    """

    def __init__(self, registry: Any = None) -> None:
        self.registry = registry if registry is not None else _prometheus().REGISTRY
        self._metrics: dict[tuple[MetricKind, str], Any] = {}

    def _child(self, kind: MetricKind, name: str, labels: Mapping[str, str] | None) -> Any:
        metric = self._metrics.get((kind, name))
        if metric is None:
            metric = _register(
                kind,
                name,
                documentation="",
                labelnames=sorted(labels or {}),
                registry=self.registry,
            )
            self._metrics[(kind, name)] = metric
        try:
            if labels:
                return metric.labels(**labels)
            if metric._labelnames:
                raise ValueError("no label values")  # noqa: TRY301 - reworded just below
        except ValueError as error:  # prometheus-client says only "Incorrect label names"
            expected = tuple(metric._labelnames)
            raise ValueError(
                f"metric {name!r} is a {kind} with labels {expected}; "
                f"got labels {tuple(sorted(labels or {}))}"
            ) from error
        return metric

    def increment(
        self, name: str, value: float = 1.0, *, labels: Mapping[str, str] | None = None
    ) -> None:
        """Increment counter `name`.

        Raises:
            ValueError: Negative `value`, or labels other than the counter's.
        """
        self._child("counter", name, labels).inc(value)

    def set_gauge(
        self, name: str, value: float, *, labels: Mapping[str, str] | None = None
    ) -> None:
        """Set gauge `name`."""
        self._child("gauge", name, labels).set(value)

    def observe(self, name: str, value: float, *, labels: Mapping[str, str] | None = None) -> None:
        """Observe `value` into histogram `name`."""
        self._child("histogram", name, labels).observe(value)


def metrics_route(
    registry: Any = None,
    *,
    path: str = "/metrics",
    name: str = "metrics",
    include_in_schema: bool = False,
) -> HttpRouteSpec:
    """A ``GET /metrics`` route serving `registry` in the Prometheus text format.

    Add it to the routes of either framework; both answer the same bytes.

    Raises:
        MissingDependencyError: prometheus-client is not installed (extra ``observability``).
    """
    prometheus = _prometheus()
    target = registry if registry is not None else prometheus.REGISTRY
    generate = prometheus.generate_latest

    async def serve_metrics() -> HttpResponseSpec:
        return HttpResponseSpec(body=generate(target), media_type=PROMETHEUS_TEXT)

    return HttpRouteSpec(
        method="GET",
        path=path,
        name=name,
        category="observability",
        handler=serve_metrics,
        summary="Prometheus metrics",
        include_in_schema=include_in_schema,
    )

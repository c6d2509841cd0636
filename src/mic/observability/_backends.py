"""`MetricsBackend`: the small interface the toolkit records metrics through.

`InMemoryMetricsBackend` is a complete backend (tests, local runs); the Prometheus one lives
in `_prometheus.py`; `SanitizingMetricsBackend` guards any of them against sensitive or
unbounded labels.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Final, Literal

MetricKind = Literal["counter", "gauge", "histogram"]
_METRIC_NAME: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def check_metric_name(name: str) -> None:
    """Raise `ValueError` unless `name` is a valid Prometheus metric name."""
    if not _METRIC_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")


def check_label_names(metric: str, names: tuple[str, ...]) -> None:
    """Raise `ValueError` unless every label name is valid, unique and not reserved."""
    for label in names:
        if not _LABEL_NAME.fullmatch(label) or label.startswith("__"):
            raise ValueError(f"metric {metric!r}: {label!r} is not a valid label name")
    if len(set(names)) != len(names):
        raise ValueError(f"metric {metric!r}: duplicate label names in {names}")


class MetricsBackend(ABC):
    """Where metrics go. Calls are synchronous and in-memory (no I/O): safe on the loop.

    A metric's kind and label names are fixed by its first use; a later call with another
    kind or other label names raises `ValueError`.
    """

    @abstractmethod
    def increment(
        self, name: str, value: float = 1.0, *, labels: Mapping[str, str] | None = None
    ) -> None:
        """Add `value` (>= 0) to counter `name`."""

    @abstractmethod
    def set_gauge(
        self, name: str, value: float, *, labels: Mapping[str, str] | None = None
    ) -> None:
        """Set gauge `name` to `value`."""

    @abstractmethod
    def observe(self, name: str, value: float, *, labels: Mapping[str, str] | None = None) -> None:
        """Record `value` in histogram `name` (durations in seconds, sizes in bytes)."""


class _Shapes:
    """Remembers each metric's kind and label names; thread-safe."""

    def __init__(self) -> None:
        self._shapes: dict[str, tuple[MetricKind, tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def check(self, kind: MetricKind, name: str, labels: Mapping[str, str]) -> tuple[str, ...]:
        names = tuple(sorted(labels))
        known = self._shapes.get(name)
        if known is None:
            check_metric_name(name)
            check_label_names(name, names)
            with self._lock:
                known = self._shapes.setdefault(name, (kind, names))
        if known != (kind, names):
            raise ValueError(
                f"metric {name!r} is a {known[0]} with labels {known[1]}; "
                f"got a {kind} with labels {names}"
            )
        return names


LabelKey = tuple[tuple[str, str], ...]


def label_key(labels: Mapping[str, str] | None) -> LabelKey:
    """A hashable, order-independent key for a label set."""
    return tuple(sorted((labels or {}).items()))


class InMemoryMetricsBackend(MetricsBackend):
    """Keeps every metric in memory, with accessors to read them back. Thread-safe."""

    def __init__(self) -> None:
        self._shapes = _Shapes()
        self._values: dict[tuple[str, LabelKey], float] = {}
        self._observations: dict[tuple[str, LabelKey], list[float]] = {}
        self._lock = threading.Lock()

    def increment(
        self, name: str, value: float = 1.0, *, labels: Mapping[str, str] | None = None
    ) -> None:
        """Add `value` to counter `name`.

        Raises:
            ValueError: `value` is negative, or the name or labels do not fit the metric.
        """
        if value < 0:
            raise ValueError(f"counter {name!r} cannot decrease (value {value})")
        self._shapes.check("counter", name, labels or {})
        key = (name, label_key(labels))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + value

    def set_gauge(
        self, name: str, value: float, *, labels: Mapping[str, str] | None = None
    ) -> None:
        """Set gauge `name`."""
        self._shapes.check("gauge", name, labels or {})
        with self._lock:
            self._values[(name, label_key(labels))] = value

    def observe(self, name: str, value: float, *, labels: Mapping[str, str] | None = None) -> None:
        """Record an observation of histogram `name`."""
        self._shapes.check("histogram", name, labels or {})
        with self._lock:
            self._observations.setdefault((name, label_key(labels)), []).append(value)

    def value(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """Current value of a counter or gauge (``0.0`` when never recorded)."""
        return self._values.get((name, label_key(labels)), 0.0)

    def observations(self, name: str, labels: Mapping[str, str] | None = None) -> list[float]:
        """Every value observed by a histogram, in order."""
        return list(self._observations.get((name, label_key(labels)), ()))

    def series(self, name: str) -> list[dict[str, str]]:
        """The label sets recorded for `name`."""
        keys = [k for n, k in (*self._values, *self._observations) if n == name]
        return [dict(k) for k in dict.fromkeys(keys)]

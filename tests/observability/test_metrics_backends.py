"""One behaviour suite for every MetricsBackend, and the sanitizing decorator."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from mic.observability import (
    REJECTED_METRIC,
    InMemoryMetricsBackend,
    MetricLabelViolation,
    MetricsBackend,
    PrometheusMetricsBackend,
    SanitizingMetricsBackend,
)
from mic.redaction import RedactionPolicy, redact_drop


class _Reader:
    """Reads values back from either backend."""

    def __init__(self, backend: MetricsBackend, registry: CollectorRegistry | None) -> None:
        self.backend = backend
        self.registry = registry

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        if isinstance(self.backend, InMemoryMetricsBackend):
            return self.backend.value(name, labels)
        assert self.registry is not None
        return self.registry.get_sample_value(name, labels or {}) or 0.0

    def count(self, name: str, labels: dict[str, str] | None = None) -> float:
        if isinstance(self.backend, InMemoryMetricsBackend):
            return float(len(self.backend.observations(name, labels)))
        assert self.registry is not None
        return self.registry.get_sample_value(name + "_count", labels or {}) or 0.0


def _memory() -> _Reader:
    return _Reader(InMemoryMetricsBackend(), None)


def _prometheus() -> _Reader:
    registry = CollectorRegistry()
    return _Reader(PrometheusMetricsBackend(registry), registry)


@pytest.fixture(params=[_memory, _prometheus], ids=["memory", "prometheus"])
def reader(request: pytest.FixtureRequest) -> _Reader:
    factory: Callable[[], _Reader] = request.param
    return factory()


def test_counters_add_up_per_label_set(reader: _Reader) -> None:
    backend = reader.backend
    backend.increment("orders_total", labels={"status_class": "2xx"})
    backend.increment("orders_total", 2, labels={"status_class": "2xx"})
    backend.increment("orders_total", labels={"status_class": "5xx"})
    assert reader.value("orders_total", {"status_class": "2xx"}) == 3
    assert reader.value("orders_total", {"status_class": "5xx"}) == 1


def test_gauges_and_histograms(reader: _Reader) -> None:
    backend = reader.backend
    backend.set_gauge("queue_depth", 5)
    backend.set_gauge("queue_depth", 3)
    backend.observe("job_duration_seconds", 0.2, labels={"kind": "a"})
    backend.observe("job_duration_seconds", 0.4, labels={"kind": "a"})
    assert reader.value("queue_depth") == 3
    assert reader.count("job_duration_seconds", {"kind": "a"}) == 2


def test_label_sets_are_fixed_by_first_use(reader: _Reader) -> None:
    reader.backend.increment("hits_total", labels={"a": "1"})
    with pytest.raises(ValueError, match="label"):
        reader.backend.increment("hits_total", labels={"b": "1"})


def test_kinds_cannot_be_mixed(reader: _Reader) -> None:
    reader.backend.increment("things_total")
    with pytest.raises(ValueError, match="things"):
        reader.backend.observe("things_total", 1.0)


def test_counters_cannot_decrease(reader: _Reader) -> None:
    with pytest.raises(ValueError, match=r"decrease|negative|non-negative|Counters can only"):
        reader.backend.increment("down_total", -1)


@pytest.mark.parametrize(
    ("name", "labels", "match"),
    [
        ("bad-name", None, "not a valid metric name"),
        ("ok", {"bad-label": "x"}, "not a valid label name"),
        ("ok", {"__reserved": "x"}, "not a valid label name"),
    ],
)
def test_invalid_names(
    reader: _Reader, name: str, labels: dict[str, str] | None, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        reader.backend.increment(name, labels=labels)


def test_memory_series() -> None:
    backend = InMemoryMetricsBackend()
    backend.increment("a_total", labels={"x": "1"})
    backend.observe("b_seconds", 1.0, labels={"x": "2"})
    assert backend.series("a_total") == [{"x": "1"}]
    assert backend.series("b_seconds") == [{"x": "2"}]
    assert backend.observations("b_seconds", {"x": "2"}) == [1.0]


def test_spec_example_lenient() -> None:
    inner = InMemoryMetricsBackend()
    metrics = SanitizingMetricsBackend(inner, denied_labels={"email", "access_token"}, strict=False)
    metrics.increment("orders_total", labels={"status_class": "2xx"})
    metrics.increment("orders_total", labels={"status_class": "2xx"})
    assert inner.value("orders_total", {"status_class": "2xx"}) == 2


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ({"Email": "a@b.c"}, "denied_label"),
        ({"access-token": "x"}, "denied_label"),
        ({"password": "x"}, "denied_label"),
        ({"otp_code": "1"}, "denied_label"),
        ({"note": "Bearer abcdefgh"}, "secret_value"),
    ],
)
def test_strict_mode_raises(labels: dict[str, str], reason: str) -> None:
    policy = RedactionPolicy({"otp_code": redact_drop})
    metrics = SanitizingMetricsBackend(
        InMemoryMetricsBackend(),
        denied_labels={"email", "access_token"},
        strict=True,
        policy=policy,
    )
    with pytest.raises(MetricLabelViolation, match=reason) as caught:
        metrics.increment("orders_total", labels=labels)
    assert caught.value.reason == reason
    assert caught.value.metric == "orders_total"


def test_lenient_mode_drops_warns_once_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    inner = InMemoryMetricsBackend()
    metrics = SanitizingMetricsBackend(inner)
    with caplog.at_level(logging.WARNING, logger="mic.observability"):
        metrics.observe("latency_seconds", 1.0, labels={"email": "a@b.c"})
        metrics.set_gauge("users", 1.0, labels={"email": "a@b.c"})
        metrics.set_gauge("users", 1.0, labels={"email": "b@b.c"})
    assert inner.series("latency_seconds") == []
    assert inner.series("users") == []
    assert inner.value(REJECTED_METRIC, {"metric": "users", "reason": "denied_label"}) == 2
    assert (
        inner.value(REJECTED_METRIC, {"metric": "latency_seconds", "reason": "denied_label"}) == 1
    )
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert all("a@b.c" not in m for m in messages)


def test_cardinality_is_capped_per_metric_and_label() -> None:
    inner = InMemoryMetricsBackend()
    metrics = SanitizingMetricsBackend(inner, max_label_values=2, strict=True)
    metrics.increment("hits_total", labels={"route": "/a"})
    metrics.increment("hits_total", labels={"route": "/b"})
    metrics.increment("hits_total", labels={"route": "/a"})
    with pytest.raises(MetricLabelViolation, match="cardinality"):
        metrics.increment("hits_total", labels={"route": "/c"})
    metrics.increment("other_total", labels={"route": "/c"})
    assert inner.value("hits_total", {"route": "/a"}) == 2


def test_unlabelled_emissions_pass_and_gauges_and_histograms_forward() -> None:
    inner = InMemoryMetricsBackend()
    metrics = SanitizingMetricsBackend(inner)
    metrics.increment("plain_total")
    metrics.set_gauge("g", 2.0, labels={"kind": "a"})
    metrics.observe("h_seconds", 0.5, labels={"kind": "a"})
    assert inner.value("plain_total") == 1
    assert inner.value("g", {"kind": "a"}) == 2.0
    assert inner.observations("h_seconds", {"kind": "a"}) == [0.5]


def test_invalid_cap() -> None:
    with pytest.raises(ValueError, match="max_label_values"):
        SanitizingMetricsBackend(InMemoryMetricsBackend(), max_label_values=0)


def test_violation_message() -> None:
    error: Any = MetricLabelViolation("m", "email", "denied_label")
    assert str(error) == "metric 'm': label 'email' rejected (denied_label)"
    assert isinstance(error, ValueError)

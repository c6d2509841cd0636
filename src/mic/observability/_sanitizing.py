"""`SanitizingMetricsBackend`: refuses sensitive label names, secret values and unbounded labels.

A label value becomes a time series: an e-mail address as a label is both a leak and a
cardinality explosion. Strict mode raises; lenient mode drops the emission and counts it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Final, Literal

from mic._errors import MicError
from mic.observability._backends import MetricsBackend
from mic.redaction import SECRET_FIELD_NAMES, RedactionPolicy, normalize_field_name

logger = logging.getLogger("mic.observability")

Reason = Literal["denied_label", "secret_value", "cardinality"]
DEFAULT_DENIED_LABELS: Final = frozenset({"email", "phone", "ip", "ip_address", "user_agent"})
"""Label names refused by default, on top of the secret names of `mic.redaction`."""
REJECTED_METRIC: Final = "mic_metric_emissions_rejected_total"


class MetricLabelViolation(MicError, ValueError):  # noqa: N818 - the spec's name
    """A metric emission carried a denied label, a secret value, or one value too many.

    Attributes:
        metric: The metric name.
        label: The offending label name.
        reason: ``"denied_label"``, ``"secret_value"`` or ``"cardinality"``.
    """

    def __init__(self, metric: str, label: str, reason: Reason) -> None:
        self.metric = metric
        self.label = label
        self.reason = reason
        super().__init__(f"metric {metric!r}: label {label!r} rejected ({reason})")


class SanitizingMetricsBackend(MetricsBackend):
    """Wrap a `MetricsBackend` and check every label set before it reaches it.

    Args:
        backend: The backend that records accepted emissions.
        denied_labels: Label names never accepted (case- and separator-insensitive); the
            secret names of `mic.redaction` are always denied too.
        strict: Raise `MetricLabelViolation` (development, CI); when ``False`` (production)
            the emission is dropped, a warning is logged once per metric, label and reason,
            and ``mic_metric_emissions_rejected_total{metric, reason}`` is incremented.
        max_label_values: Distinct values accepted per metric and label; more is a
            cardinality violation.
        policy: A redaction policy whose field names are denied as labels too, and whose
            patterns find secrets in label values (a default policy otherwise).

    Thread-safe.
    """

    def __init__(
        self,
        backend: MetricsBackend,
        *,
        denied_labels: Iterable[str] = DEFAULT_DENIED_LABELS,
        strict: bool = False,
        max_label_values: int = 1000,
        policy: RedactionPolicy | None = None,
    ) -> None:
        if max_label_values < 1:
            raise ValueError("max_label_values must be >= 1")
        self.backend = backend
        self.strict = strict
        self.max_label_values = max_label_values
        self._policy = policy if policy is not None else RedactionPolicy()
        self._denied = frozenset(map(normalize_field_name, (*denied_labels, *SECRET_FIELD_NAMES)))
        self._seen: dict[tuple[str, str], set[str]] = {}
        self._warned: set[tuple[str, str, Reason]] = set()
        self._lock = threading.Lock()

    def increment(
        self, name: str, value: float = 1.0, *, labels: Mapping[str, str] | None = None
    ) -> None:
        """Increment counter `name` if its labels pass the checks."""
        if self._accept(name, labels):
            self.backend.increment(name, value, labels=labels)

    def set_gauge(
        self, name: str, value: float, *, labels: Mapping[str, str] | None = None
    ) -> None:
        """Set gauge `name` if its labels pass the checks."""
        if self._accept(name, labels):
            self.backend.set_gauge(name, value, labels=labels)

    def observe(self, name: str, value: float, *, labels: Mapping[str, str] | None = None) -> None:
        """Observe into histogram `name` if its labels pass the checks."""
        if self._accept(name, labels):
            self.backend.observe(name, value, labels=labels)

    def _violation(self, name: str, labels: Mapping[str, str]) -> tuple[str, Reason] | None:
        policy = self._policy
        for label, value in labels.items():
            if normalize_field_name(label) in self._denied or policy.is_sensitive(label):
                return label, "denied_label"
            if policy.holds_secret(str(value)):
                return label, "secret_value"
        return None

    def _accept(self, name: str, labels: Mapping[str, str] | None) -> bool:
        if not labels:
            return True
        violation = self._violation(name, labels)
        if violation is None:
            with self._lock:
                seen = self._seen
                new = [(label, str(value)) for label, value in labels.items()
                       if str(value) not in seen.get((name, label), ())]  # fmt: skip
                full = [label for label, _ in new
                        if len(seen.get((name, label), ())) >= self.max_label_values]  # fmt: skip
                if full:
                    violation = (full[0], "cardinality")
                else:
                    for label, value in new:
                        self._seen.setdefault((name, label), set()).add(value)
        if violation is None:
            return True
        self._reject(name, *violation)
        return False

    def _reject(self, name: str, label: str, reason: Reason) -> None:
        if self.strict:
            raise MetricLabelViolation(name, label, reason)
        key = (name, label, reason)
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(
                "metric %s: label %s rejected (%s); emission dropped", name, label, reason
            )
        self.backend.increment(REJECTED_METRIC, labels={"metric": name, "reason": reason})

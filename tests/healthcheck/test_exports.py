"""The public surface of mic.healthcheck is pinned."""

import mic.healthcheck


def test_all_is_pinned() -> None:
    assert sorted(mic.healthcheck.__all__) == sorted([
        "Pingable", "Probe", "ProbeFailedError", "ProbeResult", "ReadinessChecker",
        "ReadinessReport", "health_route", "http_probe", "nats_probe", "ping_probe",
        "readiness_route", "redis_probe", "sql_probe",
    ])  # fmt: skip

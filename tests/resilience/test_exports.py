"""The public surface of `mic.resilience` is pinned."""

import mic.resilience


def test_all_is_pinned() -> None:
    assert sorted(mic.resilience.__all__) == [
        "CircuitBreaker",
        "CircuitOpenError",
        "CircuitState",
        "Retry",
        "RetryListener",
        "RetryPolicy",
        "RetryPredicate",
        "StateListener",
        "retry",
        "retry_after_of",
    ]
    for name in mic.resilience.__all__:
        assert getattr(mic.resilience, name) is not None

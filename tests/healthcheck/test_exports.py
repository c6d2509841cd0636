"""The public surface of mic.healthcheck is pinned, derived from the module's namespace."""

import mic.healthcheck


def test_all_is_pinned() -> None:
    public = {
        name
        for name, value in vars(mic.healthcheck).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("mic.healthcheck")
    }
    assert sorted(public) == sorted(mic.healthcheck.__all__)
    assert {"Pingable", "ping_probe", "ReadinessChecker", "Probe"} <= public

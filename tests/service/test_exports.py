"""The public surface of mic.service is pinned, derived from the module's namespace."""

import mic.service


def test_all_is_pinned() -> None:
    public = {
        name
        for name, value in vars(mic.service).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("mic.service")
    }
    assert sorted(public) == sorted(mic.service.__all__)
    assert {"Service", "Handle", "ServiceError", "ServiceStartError"} <= public

"""Importing `mic.auth` needs no extra."""

from __future__ import annotations

import subprocess
import sys

import mic.auth


def test_every_name_resolves() -> None:
    for name in mic.auth.__all__:
        assert getattr(mic.auth, name) is not None


def test_unknown_attribute_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = mic.auth.Nope  # type: ignore[attr-defined]


def test_import_without_extras() -> None:
    """`import mic.auth` works with pyjwt, cryptography, httpx and sqlalchemy hidden."""
    code = (
        "import sys\n"
        "for name in ('jwt', 'cryptography', 'httpx', 'sqlalchemy'):\n"
        "    sys.modules[name] = None\n"
        "import mic.auth\n"
        "try:\n"
        "    mic.auth.ServiceKey.hmac('k', b'x' * 32)\n"
        "    mic.auth.ServiceAuthSigner(issuer='a', keys=mic.auth.ServiceKey.hmac('k', b'x' * 32))\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "MissingDependencyError" in result.stdout
    assert "mic-kit[auth]" in result.stdout

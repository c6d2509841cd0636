"""The public surface of `mic.authz` is pinned, and importing it needs no extra."""

from __future__ import annotations

import subprocess
import sys

import mic.authz


def test_all_is_pinned() -> None:
    public = sorted(n for n in vars(mic.authz) if not n.startswith("_") and n != "annotations")
    assert public == sorted(mic.authz.__all__)
    assert mic.authz.__all__ == sorted(mic.authz.__all__)


def test_import_without_extras() -> None:
    """`import mic.authz` works without regopy and httpx; using an engine names the extra."""
    code = (
        "import sys\n"
        "for name in ('regopy', 'httpx'):\n"
        "    sys.modules[name] = None\n"
        "import mic.authz\n"
        "for make, extra in ((lambda: mic.authz.RegoEngine({'p': 'package a'}), 'authz'),\n"
        "                    (lambda: mic.authz.OpaEngine('http://x'), 'opa'),\n"
        "                    (lambda: mic.authz.OpenFgaEngine('http://x', store_id='s'), 'openfga')):\n"
        "    try:\n"
        "        make()\n"
        "    except ImportError as exc:\n"
        "        print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    for extra in ("authz", "opa", "openfga"):
        assert f"mic-kit[{extra}]" in result.stdout
    assert 3 == result.stdout.count("MissingDependencyError")

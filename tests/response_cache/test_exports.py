"""The public surface of `mic.response_cache` is pinned, and importing it needs no extra."""

from __future__ import annotations

import subprocess
import sys

import mic.response_cache


def test_all_is_pinned() -> None:
    public = sorted(
        n for n in vars(mic.response_cache) if not n.startswith("_") and n != "annotations"
    )
    assert public == sorted(mic.response_cache.__all__)
    assert mic.response_cache.__all__ == sorted(mic.response_cache.__all__)


def test_import_without_extras() -> None:
    code = "import sys\nsys.modules['redis'] = None\nimport mic.response_cache\nprint('ok')\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "ok" == result.stdout.strip()

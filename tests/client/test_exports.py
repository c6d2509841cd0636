"""Importing `mic.client` needs no extra."""

from __future__ import annotations

import subprocess
import sys


def test_import_without_httpx() -> None:
    code = (
        "import sys\n"
        "sys.modules['httpx'] = None\n"
        "import mic.client\n"
        "try:\n"
        "    mic.client.ServiceHttpClient('http://x')\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "MissingDependencyError" in result.stdout
    assert "mic-kit[client]" in result.stdout

"""Validate AsyncAPI documents with the reference parser, ``@asyncapi/parser`` (Node.js).

`parse_asyncapi` installs the npm package once into a cache directory (idempotent, under a
file lock, so parallel test runs and other suites share it), then runs it on a document and
returns the parser's errors. Without Node.js the calling test is skipped, or fails under
``MIC_REQUIRE_SERVICES=1`` (CI must never pass by validating nothing).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

PARSER_PACKAGE = "@asyncapi/parser@3.6.3"
CACHE = Path(os.environ.get("MIC_NPM_CACHE", Path.home() / ".cache" / "mic-kit" / "npm"))

_NPM_INSTALL = "npm install --no-audit --no-fund --loglevel=error"
_SCRIPT = r"""
const { Parser } = require('@asyncapi/parser');
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', async () => {
  const { diagnostics } = await new Parser().parse(input);
  const errors = diagnostics.filter((d) => d.severity === 0)
    .map((d) => ({ code: d.code, message: d.message, path: d.path.join('/') }));
  process.stdout.write(JSON.stringify(errors));
});
"""


def _require_node() -> str:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node and npm:
        return node
    message = "Node.js and npm are needed to run @asyncapi/parser"
    if os.environ.get("MIC_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} and MIC_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def install_parser() -> Path:
    """The directory holding ``node_modules/@asyncapi/parser`` (installed on first use)."""
    _require_node()
    CACHE.mkdir(parents=True, exist_ok=True)
    marker = CACHE / "node_modules" / "@asyncapi" / "parser" / "package.json"
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            subprocess.run(
                [*_NPM_INSTALL.split(), "--prefix", str(CACHE), PARSER_PACKAGE],
                check=True,
                capture_output=True,
                timeout=600,
            )
    return CACHE


def parse_asyncapi(document: dict[str, Any]) -> list[dict[str, str]]:
    """The errors ``@asyncapi/parser`` reports for `document` (empty: it is valid)."""
    node = _require_node()
    directory = install_parser()
    result = subprocess.run(
        [node, "-e", _SCRIPT],
        input=json.dumps(document),
        capture_output=True,
        text=True,
        check=True,
        cwd=directory,
        timeout=120,
    )
    errors: list[dict[str, str]] = json.loads(result.stdout)
    return errors

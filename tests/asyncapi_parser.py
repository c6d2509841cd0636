"""Validate AsyncAPI documents with the real `@asyncapi/parser` (npm), installed on first use.

The package is installed once per version into ``.venv/npm/asyncapi-parser-<version>``
(``MIC_ASYNCAPI_PARSER_DIR`` overrides it), under a file lock so parallel runs share one
install. Without node the test skips, and fails under ``MIC_REQUIRE_SERVICES=1`` (CI).
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

PARSER_VERSION = "3.6.3"
_ROOT = Path(__file__).resolve().parents[1]
_SCRIPT = """
const { Parser } = require('@asyncapi/parser');
let text = '';
process.stdin.on('data', (chunk) => { text += chunk; });
process.stdin.on('end', async () => {
  const { document, diagnostics } = await new Parser().parse(text);
  const found = diagnostics.map((d) => ({ severity: d.severity, code: d.code,
                                          message: d.message, path: d.path }));
  process.stdout.write(JSON.stringify({ parsed: document !== undefined, diagnostics: found }));
});
"""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (needed to run @asyncapi/parser)"
        if os.environ.get("MIC_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message} and MIC_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    return found


def parser_dir() -> Path:
    """The directory holding ``node_modules/@asyncapi/parser``, installing it if needed."""
    default = _ROOT / ".venv" / "npm" / f"asyncapi-parser-{PARSER_VERSION}"
    target = Path(os.environ.get("MIC_ASYNCAPI_PARSER_DIR", default))
    marker = target / "node_modules" / "@asyncapi" / "parser" / "package.json"
    if marker.exists():
        return target
    npm = _tool("npm")
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(target),
                    f"@asyncapi/parser@{PARSER_VERSION}",
                    "--no-audit",
                    "--no-fund",
                    "--silent",
                ],
                check=True,
                timeout=600,
            )
    return target


def parse_asyncapi(document: dict[str, Any]) -> dict[str, Any]:
    """Parse `document`; ``{"parsed": bool, "diagnostics": [...]}`` (severity 0 = error)."""
    node = _tool("node")
    directory = parser_dir()
    result = subprocess.run(
        [node, "-e", _SCRIPT],
        input=json.dumps(document),
        capture_output=True,
        text=True,
        cwd=directory,
        check=True,
        timeout=120,
    )
    return dict(json.loads(result.stdout))


def asyncapi_errors(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The parser's errors about `document` (empty when it is a valid AsyncAPI document)."""
    parsed = parse_asyncapi(document)
    errors = [d for d in parsed["diagnostics"] if d["severity"] == 0]
    if not parsed["parsed"] and not errors:
        errors.append({"code": "unparsed", "message": "the parser returned no document"})
    return errors

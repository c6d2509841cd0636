"""Every Python example in docs/authz.md and docs/response-cache.md runs."""

from __future__ import annotations

import pathlib
import re
import sys
import types

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _examples() -> list[pytest.ParameterSet]:
    found = []
    for name in ("authz.md", "response-cache.md"):
        blocks = BLOCK.findall((DOCS / name).read_text(encoding="utf-8"))
        found.extend(pytest.param(name, code, id=f"{name}-{i}") for i, code in enumerate(blocks))
    return found


@pytest.mark.parametrize(("doc", "code"), _examples())
def test_example_runs(doc: str, code: str) -> None:
    module = types.ModuleType("mic_doc_example")
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, doc, "exec"), module.__dict__)  # noqa: S102 - our own docs
    finally:
        del sys.modules[module.__name__]

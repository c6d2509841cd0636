"""Every Python example in docs/resilience.md runs."""

from __future__ import annotations

import pathlib
import re
import sys
import types

import pytest

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "resilience.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
EXAMPLES = BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_guide_has_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_example_runs(code: str) -> None:
    module = types.ModuleType("mic_resilience_doc_example")
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, str(DOC), "exec"), module.__dict__)  # noqa: S102 - our own docs
    finally:
        del sys.modules[module.__name__]

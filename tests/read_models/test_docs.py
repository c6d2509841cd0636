"""The examples of docs/read-models.md run as written."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "read-models.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("code", BLOCKS)
async def test_example_runs(code: str) -> None:
    # Each block calls asyncio.run itself, so it runs in a thread with no event loop.
    namespace = {"__name__": "docs.read_models"}
    await asyncio.to_thread(exec, compile(code, str(DOC), "exec"), namespace)


def test_doc_has_examples() -> None:
    assert 1 <= len(BLOCKS)

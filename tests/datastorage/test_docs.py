"""The examples of docs/storage.md run as written."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "storage.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
async def test_example_runs(code: str) -> None:
    # Each block calls asyncio.run itself, so it runs in a thread with no event loop.
    await asyncio.to_thread(
        exec, compile(code, str(DOC), "exec"), {"__name__": f"docs.{DOC.stem.replace('-', '_')}"}
    )


def test_doc_has_examples() -> None:
    assert len(BLOCKS) >= 5

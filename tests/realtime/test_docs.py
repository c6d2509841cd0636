"""The examples of docs/realtime.md run as written (the Redis one on the real server)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "realtime.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
CASES = [
    pytest.param(code, id=f"block{n}", marks=[pytest.mark.redis] if "Redis" in code else [])
    for n, code in enumerate(BLOCKS)
]


@pytest.mark.parametrize("code", CASES)
async def test_example_runs(code: str, request: pytest.FixtureRequest) -> None:
    if "Redis" in code:
        request.getfixturevalue("redis_url")  # skip (or fail in CI) without the server
    # Each block calls asyncio.run itself (or nothing async), so it runs in a thread.
    await asyncio.to_thread(exec, compile(code, str(DOC), "exec"), {"__name__": "docs.realtime"})


def test_doc_has_examples() -> None:
    assert 3 == len(BLOCKS)

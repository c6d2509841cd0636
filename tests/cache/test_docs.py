"""The examples of docs/cache-locking-idempotency.md run as written (some need Redis)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "cache-locking-idempotency.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize(
    "code",
    [pytest.param(b, marks=pytest.mark.redis) if "redis://" in b else b for b in BLOCKS],
    ids=[f"block{n}" for n in range(len(BLOCKS))],
)
async def test_example_runs(code: str, request: pytest.FixtureRequest) -> None:
    if "redis://" in code:
        request.getfixturevalue("redis_url")  # skip (or fail in CI) without Redis
    await asyncio.to_thread(
        exec, compile(code, str(DOC), "exec"), {"__name__": f"docs.{DOC.stem.replace('-', '_')}"}
    )


def test_doc_has_examples() -> None:
    assert len(BLOCKS) >= 5

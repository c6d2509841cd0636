"""The examples of docs/events.md run as written (the networked ones on the real servers)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def _server(code: str) -> str | None:
    if "RedisStreamsEventBus(" in code:
        return "redis"
    if "NATSEventBus.connect(" in code:
        return "nats"
    return None


CASES = [
    pytest.param(
        code,
        _server(code),
        id=f"block{n}",
        marks=[getattr(pytest.mark, _server(code) or "")] if _server(code) else [],
    )
    for n, code in enumerate(BLOCKS)
]


@pytest.mark.parametrize(("code", "server"), CASES)
async def test_example_runs(code: str, server: str | None, request: pytest.FixtureRequest) -> None:
    if server is not None:
        request.getfixturevalue(f"{server}_url")  # skip (or fail in CI) without the server
    # Each block calls asyncio.run itself, so it runs in a thread with no event loop.
    await asyncio.to_thread(
        exec, compile(code, str(DOC), "exec"), {"__name__": f"docs.{DOC.stem.replace('-', '_')}"}
    )


def test_doc_has_examples() -> None:
    assert len(BLOCKS) >= 6

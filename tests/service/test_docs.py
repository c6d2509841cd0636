"""The examples of docs/service.md run as written."""

from __future__ import annotations

import asyncio
import re
import sys
import types
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "service.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout leaks into MicSettings.load()
    monkeypatch.setenv("MIC_SECRETS_DIR", str(tmp_path / "none"))


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
async def test_example_runs(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real module, so pydantic resolves the annotations of the classes a block defines.
    module = types.ModuleType("docs_service_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    await asyncio.to_thread(exec, compile(code, str(DOC), "exec"), module.__dict__)


def test_doc_has_examples() -> None:
    assert len(BLOCKS) >= 4

"""Every Python example in docs/grpc.md runs."""

from __future__ import annotations

import pathlib
import re
import sys
import types

import pytest

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "grpc.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.mark.parametrize("code", BLOCK.findall(DOC.read_text(encoding="utf-8")))
def test_example_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = types.ModuleType("mic_doc_example")
    sys.modules[module.__name__] = module  # pydantic looks models' modules up
    try:
        exec(compile(code, str(DOC), "exec"), module.__dict__)  # noqa: S102 - our own docs
    finally:
        del sys.modules[module.__name__]
    assert "rpc GetItem(GetItemRequest) returns (Item);" in capsys.readouterr().out

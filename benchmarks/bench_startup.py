"""Startup cost: import + build + lifespan (start and stop) of the demo service, in a fresh
interpreter, beside plain FastAPI and Litestar apps serving the same five routes.

Each case runs in its own subprocess (imports are only cold once per process), several
times; the median of each phase is printed in milliseconds, and the ratio of the total to
the plain app of the same framework. Run: ``python -m benchmarks.bench_startup``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each script prints {"import": s, "build": s, "lifespan": s}; the clock starts before the
# first import of the case (the interpreter's own start is the same for every case).
PRELUDE = """
import time
_t0 = time.perf_counter()
"""

MIC_DEMO = """
import asyncio
from examples.service import build_service, DemoSettings
from mic.testing import run_lifespan
_t1 = time.perf_counter()
settings = DemoSettings.load(env_file=None, storage={{"url": {url!r}}})
app = build_service(settings).build_app({framework!r})
_t2 = time.perf_counter()
async def cycle():
    async with run_lifespan(app):
        pass
asyncio.run(cycle())
_t3 = time.perf_counter()
"""

PLAIN_FASTAPI = """
import asyncio
from typing import Any
from fastapi import FastAPI
from pydantic import BaseModel
from mic.testing import run_lifespan
_t1 = time.perf_counter()
class Payload(BaseModel):
    name: str
    quantity: int = 0
items: dict[str, Any] = {}
app = FastAPI()
@app.post("/items", status_code=201)
async def create(payload: Payload) -> dict[str, Any]:
    return payload.model_dump()
@app.get("/items")
async def list_items(limit: int = 20) -> list[Any]:
    return list(items.values())[:limit]
@app.get("/items/{item_id}")
async def get_item(item_id: str) -> Any:
    return items.get(item_id)
@app.put("/items/{item_id}")
async def replace(item_id: str, payload: Payload) -> Any:
    return payload.model_dump()
@app.delete("/items/{item_id}", status_code=204)
async def delete(item_id: str) -> None:
    items.pop(item_id, None)
app.openapi()
_t2 = time.perf_counter()
async def cycle():
    async with run_lifespan(app):
        pass
asyncio.run(cycle())
_t3 = time.perf_counter()
"""

PLAIN_LITESTAR = """
import asyncio
from typing import Any
from litestar import Litestar, get, post, put, delete
from pydantic import BaseModel
from mic.testing import run_lifespan
_t1 = time.perf_counter()
class Payload(BaseModel):
    name: str
    quantity: int = 0
items: dict[str, Any] = {}
@post("/items", status_code=201)
async def create(data: Payload) -> dict[str, Any]:
    return data.model_dump()
@get("/items")
async def list_items(limit: int = 20) -> list[Any]:
    return list(items.values())[:limit]
@get("/items/{item_id:str}")
async def get_item(item_id: str) -> Any:
    return items.get(item_id)
@put("/items/{item_id:str}")
async def replace(item_id: str, data: Payload) -> Any:
    return data.model_dump()
@delete("/items/{item_id:str}", status_code=204)
async def remove(item_id: str) -> None:
    items.pop(item_id, None)
app = Litestar(route_handlers=[create, list_items, get_item, replace, remove], logging_config=None)
app.openapi_schema
_t2 = time.perf_counter()
async def cycle():
    async with run_lifespan(app):
        pass
asyncio.run(cycle())
_t3 = time.perf_counter()
"""

REPORT = """
import json as _json
print(_json.dumps({"import": _t1 - _t0, "build": _t2 - _t1, "lifespan": _t3 - _t2}))
"""


def measure(body: str, runs: int) -> dict[str, float]:
    """Median seconds of each phase over `runs` fresh interpreters."""
    script = PRELUDE + textwrap.dedent(body) + REPORT
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        output = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", script],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        ).stdout
        samples.append(json.loads(output.strip().splitlines()[-1]))
    return {phase: statistics.median(s[phase] for s in samples) for phase in samples[0]}


def main(runs: int = 5) -> None:
    """Print each case's median phases (ms) and its total against the plain app."""
    with tempfile.TemporaryDirectory() as directory:
        sqlite = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        cases = [
            ("fastapi", "plain FastAPI, same 5 routes", PLAIN_FASTAPI),
            (
                "fastapi",
                "mic demo, memory storage",
                MIC_DEMO.format(url="memory://", framework="fastapi"),
            ),
            (
                "fastapi",
                "mic demo, SQLite + outbox",
                MIC_DEMO.format(url=sqlite, framework="fastapi"),
            ),
            ("litestar", "plain Litestar, same 5 routes", PLAIN_LITESTAR),
            (
                "litestar",
                "mic demo, memory storage",
                MIC_DEMO.format(url="memory://", framework="litestar"),
            ),
            (
                "litestar",
                "mic demo, SQLite + outbox",
                MIC_DEMO.format(url=sqlite, framework="litestar"),
            ),
        ]
        print(f"median of {runs} fresh interpreters; milliseconds")
        print(f"{'case':<42}{'import':>9}{'build':>9}{'lifespan':>10}{'total':>9}{'ratio':>8}")
        plain: dict[str, float] = {}
        for framework, label, body in cases:
            phases = measure(body, runs)
            total = sum(phases.values())
            plain.setdefault(framework, total)
            print(
                f"{framework + ': ' + label:<42}{phases['import'] * 1000:>9.1f}"
                f"{phases['build'] * 1000:>9.1f}{phases['lifespan'] * 1000:>10.1f}"
                f"{total * 1000:>9.1f}{total / plain[framework]:>7.2f}x"
            )


if __name__ == "__main__":
    main()

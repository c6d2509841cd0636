"""The deterministic mode: instructions per operation under ``valgrind --tool=callgrind``.

Wall-clock rates on a shared 2-core machine move by tens of percent from run to run; the
number of instructions an operation executes does not. Each benchmark module offers
``async def callgrind_cases() -> list[Comparison]``; this module runs them all in one
process under callgrind and prints ours and the reference side by side, with the ratio and
the goal (ADR 0066).

How the measured region is cut out: collection is off at start
(``--collect-atstart=no``) and toggled on and off around every call of ctypes' callback
trampoline (``--toggle-collect=closure_fcn``), and each such call is dumped to its own file
(``--dump-after=closure_fcn``). A side runs its operation `WARM_UP` times outside any
region (imports, caches, lazily built validators), then once N times and once 2N times
inside a region each; the cost of one operation is the difference divided by N, so the
region's own fixed cost (the trampoline, the event loop turn) cancels out. The garbage
collector is run before and paused inside a region, and hashing is seeded, so a rerun
gives the same figures.

Run: ``python -m benchmarks --callgrind [bench_http ...]`` or ``make bench MODE=callgrind``.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import importlib
import inspect
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import benchmarks

Operation = Callable[[], Awaitable[Any] | Any]

# Cleanups a module registers for what it leaves open (a bus, a consumer task), run last.
at_exit: list[Callable[[], Awaitable[None]]] = []

WARM_UP = 30
N = 20
_TOTALS = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Goal:
    """What ours must reach: ``reference / ours`` instructions, at least `at_least`.

    Attributes:
        at_least: The least acceptable speed ratio (2.0: ours runs in half the instructions).
        text: How the goal reads in the report (default ``>= {at_least}x``).
    """

    at_least: float
    text: str = ""

    def describe(self) -> str:
        """The goal as printed."""
        return self.text or f">= {self.at_least:g}x"


@dataclass(frozen=True, slots=True)
class Comparison:
    """One line of the report: our operation against the reference doing the same job.

    Attributes:
        title: What is compared.
        ours: One operation of ours (sync, or returning an awaitable).
        reference: The same job done by the reference.
        goal: The goal on the speed ratio, or ``None`` when the line is informative.
        ours_label: How ours is named in the report.
        reference_label: How the reference is named in the report.
    """

    title: str
    ours: Operation
    reference: Operation
    goal: Goal | None = None
    ours_label: str = "ours"
    reference_label: str = "reference"


def _batch(loop: asyncio.AbstractEventLoop, operation: Operation, count: int) -> None:
    if inspect.iscoroutinefunction(operation):

        async def run() -> None:
            for _ in range(count):
                await operation()

        loop.run_until_complete(run())
        return
    for _ in range(count):
        result = operation()
        if inspect.isawaitable(result):
            loop.run_until_complete(result)  # type: ignore[arg-type]


def _region(loop: asyncio.AbstractEventLoop, operation: Operation, count: int) -> None:
    """Run `count` operations as one measured region (one callgrind dump)."""
    failure: list[BaseException] = []

    def body() -> None:
        try:
            _batch(loop, operation, count)
        except BaseException as error:  # re-raised below, outside ctypes
            failure.append(error)

    trampoline = ctypes.CFUNCTYPE(None)(body)
    gc.collect()
    gc.disable()
    try:
        trampoline()
    finally:
        gc.enable()
    if failure:
        raise failure[0]


def child(names: list[str], plan_path: str) -> None:
    """Inside valgrind: measure every distinct operation once; write what each dump holds.

    An operation shared by several comparisons (one reference against several of ours) is
    measured once, so every line quotes the same figure for it.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    dumps: list[int] = []  # operation number of each dump, in dump order
    # Keyed by the operation itself, which keeps it alive: an id() could be reused by the
    # next module's operation once this module's comparisons are dropped.
    operations: dict[Operation, int] = {}
    lines: list[dict[str, Any]] = []
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        comparisons: list[Comparison] = loop.run_until_complete(module.callgrind_cases())
        for comparison in comparisons:
            numbers = []
            for operation in (comparison.ours, comparison.reference):
                if operation not in operations:
                    operations[operation] = len(operations)
                    _batch(loop, operation, WARM_UP)
                    for count in (N, 2 * N):
                        _region(loop, operation, count)
                        dumps.append(operations[operation])
                numbers.append(operations[operation])
            lines.append(
                {
                    "module": name,
                    "title": comparison.title,
                    "ours_label": comparison.ours_label,
                    "ref_label": comparison.reference_label,
                    "goal": None if comparison.goal is None else comparison.goal.at_least,
                    "goal_text": None if comparison.goal is None else comparison.goal.describe(),
                    "operations": numbers,
                }
            )
    Path(plan_path).write_text(json.dumps({"dumps": dumps, "lines": lines}))
    for cleanup in at_exit:
        loop.run_until_complete(cleanup())
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()


def _module_names(wanted: set[str]) -> list[str]:
    names = []
    for module in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if not module.name.startswith("bench_") or (wanted and module.name not in wanted):
            continue
        if hasattr(importlib.import_module(f"benchmarks.{module.name}"), "callgrind_cases"):
            names.append(module.name)
    return names


def _instructions(folder: Path, dumps: int) -> list[int]:
    found = []
    for number in range(1, dumps + 1):
        text = (folder / f"callgrind.out.{number}").read_text()
        match = _TOTALS.search(text)
        if match is None:
            raise RuntimeError(f"callgrind dump {number} has no totals")
        found.append(int(match.group(1)))
    return found


def _report(plan: dict[str, Any], counts: list[int]) -> list[dict[str, Any]]:
    """Each line with instructions per operation of both sides: (I(2N) - I(N)) / N."""
    runs: dict[int, list[int]] = {}
    for operation, instructions in zip(plan["dumps"], counts, strict=True):
        runs.setdefault(operation, []).append(instructions)
    per_op = {operation: (twice - once) / N for operation, (once, twice) in runs.items()}
    return [
        {**line, "ours": per_op[line["operations"][0]], "ref": per_op[line["operations"][1]]}
        for line in plan["lines"]
    ]


def _print(lines: list[dict[str, Any]]) -> None:
    module = None
    for line in lines:
        if line["module"] != module:
            module = line["module"]
            print(f"== {module} (instructions per operation, callgrind)")
        ratio = line["ref"] / line["ours"]
        if line["goal"] is None:
            verdict = "no goal, for information"
        else:
            met = "met" if ratio >= line["goal"] else "NOT MET"
            verdict = f"goal {line['goal_text']}: {met}"
        print(
            f"{line['title']}: {line['ours_label']} {line['ours']:,.0f}, "
            f"{line['ref_label']} {line['ref']:,.0f}, ratio {ratio:.2f}x ({verdict})"
        )


def main(wanted: set[str]) -> int:
    """Run the chosen modules under callgrind and print the report; the exit status."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return 2
    names = _module_names(wanted)
    with tempfile.TemporaryDirectory(prefix="mic-callgrind-") as folder:
        plan_path = Path(folder) / "plan.json"
        command = [
            valgrind,
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=closure_fcn",
            "--dump-after=closure_fcn",
            f"--callgrind-out-file={folder}/callgrind.out",
            sys.executable,
            "-m",
            "benchmarks",
            "--callgrind-child",
            str(plan_path),
            *names,
        ]
        environment = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(  # noqa: S603 - valgrind on our own interpreter
            command, env=environment, capture_output=True, text=True, check=False
        )
        if done.returncode != 0 or not plan_path.exists():
            print(done.stdout + done.stderr[-4000:], file=sys.stderr)
            return done.returncode or 1
        plan = json.loads(plan_path.read_text())
        counts = _instructions(Path(folder), len(plan["dumps"]))
    if not any(counts):
        print("callgrind collected nothing: this Python's _ctypes has no closure_fcn symbol")
        return 1
    _print(_report(plan, counts))
    return 0

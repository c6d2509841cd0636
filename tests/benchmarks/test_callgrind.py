"""The deterministic benchmark mode, without valgrind: its plan and its arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import _callgrind


def test_the_child_measures_each_operation_once_in_two_regions(tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"

    _callgrind.child(["bench_ratelimit", "bench_observability"], str(plan_path))

    plan = json.loads(plan_path.read_text())
    operations = {number for line in plan["lines"] for number in line["operations"]}
    assert sorted(plan["dumps"]) == sorted(2 * list(operations))  # N and 2N per operation
    assert {"bench_ratelimit", "bench_observability"} == {line["module"] for line in plan["lines"]}


def test_the_in_process_cases_of_policies_contracts_and_tracing_run(tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    names = ["bench_contracts", "bench_policies", "bench_tracing"]

    _callgrind.child(names, str(plan_path))  # a route answering anything but 200 raises

    lines = json.loads(plan_path.read_text())["lines"]
    assert names == sorted({line["module"] for line in lines})
    goals = {line["title"]: line["goal_text"] for line in lines if line["goal"] is not None}
    assert {
        "cached GET (ResponseCache, in memory) vs the same GET uncached": ">= 5x",
        "RBAC-authorized GET vs the same GET without authz": "cost <= 1.1x (ratio >= 0.91x)",
        "EventSpec publish+consume vs untyped bus (in memory)": "cost <= 1.2x (ratio >= 0.83x)",
        "server span per request vs OTel ASGI middleware": ">= 1x",
    } == goals


def test_the_figure_is_the_difference_of_the_two_regions_over_n() -> None:
    n = _callgrind.N
    plan = {
        "dumps": [0, 0, 1, 1],
        "lines": [
            {
                "title": "t",
                "module": "m",
                "goal": 2.0,
                "goal_text": ">= 2x",
                "operations": [0, 1],
                "ours_label": "ours",
                "ref_label": "reference",
            },
        ],
    }
    counts = [1_000 + 10 * n, 1_000 + 20 * n, 5_000 + 30 * n, 5_000 + 60 * n]

    (line,) = _callgrind._report(plan, counts)

    assert (10.0, 30.0) == (line["ours"], line["ref"])

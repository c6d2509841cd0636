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

"""Run every benchmark module (`benchmarks/bench_*.py`), each printing ours vs reference.

``python -m benchmarks [bench_x ...]`` measures wall-clock rates (best of interleaved
rounds); ``python -m benchmarks --callgrind [bench_x ...]`` counts instructions per
operation under valgrind's callgrind instead, which gives the same figures on every run
(see `benchmarks._callgrind`).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main() -> None:
    """Import and run each `bench_*` module's `main()`, optionally filtered by name."""
    arguments = sys.argv[1:]
    if arguments[:1] == ["--callgrind-child"]:
        from benchmarks import _callgrind

        _callgrind.child(arguments[2:], arguments[1])
        return
    if "--callgrind" in arguments:
        from benchmarks import _callgrind

        sys.exit(_callgrind.main({name for name in arguments if name != "--callgrind"}))
    wanted = set(arguments)
    for module in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if not module.name.startswith("bench_") or (wanted and module.name not in wanted):
            continue
        print(f"== {module.name}")
        importlib.import_module(f"benchmarks.{module.name}").main()


if __name__ == "__main__":
    main()

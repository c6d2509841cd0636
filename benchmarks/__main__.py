"""Run every benchmark module (`benchmarks/bench_*.py`), each printing ours vs reference."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main() -> None:
    """Import and run each `bench_*` module's `main()`, optionally filtered by name."""
    wanted = set(sys.argv[1:])
    for module in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if not module.name.startswith("bench_") or (wanted and module.name not in wanted):
            continue
        print(f"== {module.name}")
        importlib.import_module(f"benchmarks.{module.name}").main()


if __name__ == "__main__":
    main()

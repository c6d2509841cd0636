"""The public surface of mic.cli is pinned, and it needs nothing beyond the standard library."""

from __future__ import annotations

import subprocess
import sys
import types

import mic
import mic.cli


def test_all_is_pinned() -> None:
    assert sorted(
        [
            "EXIT_FAILURE",
            "EXIT_INTERRUPTED",
            "EXIT_OK",
            "EXIT_USAGE",
            "CliArgument",
            "CliCommandSpec",
            "CliError",
            "CliHandler",
            "argument",
            "build_parser",
            "dispatch",
        ]
    ) == sorted(mic.cli.__all__)
    public = {
        name
        for name, value in vars(mic.cli).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(mic.cli.__all__)


def test_the_helpers_import_only_the_standard_library() -> None:
    code = (
        "import sys, mic.cli; "
        "print(sorted(m for m in {n.partition('.')[0] for n in sys.modules} "
        "if m not in sys.stdlib_module_names and not m.startswith('_') and m != 'mic'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert "[]" == result.stdout.strip(), result.stderr


def test_the_mic_console_script_and_python_m_mic_run_main() -> None:
    from importlib.metadata import entry_points

    from mic.cli._main import main

    (script,) = entry_points(group="console_scripts", name="mic")
    assert main is script.load()
    result = subprocess.run(
        [sys.executable, "-m", "mic", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (0, f"mic {mic.__version__}") == (result.returncode, result.stdout.strip())

"""mic.cli exports the spec's names and needs nothing beyond the standard library."""

from __future__ import annotations

import subprocess
import sys

import mic
import mic.cli


def test_spec_names_are_exported() -> None:
    """The whole surface is checked by tests/test_public_surface.py."""
    assert {"CliCommandSpec", "build_parser", "dispatch"} <= set(mic.cli.__all__)


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

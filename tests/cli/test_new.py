"""``mic new``: the template rendered from the package, from a checkout and from a wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mic.cli._main import main
from mic.cli._new import template_dir

ROOT = Path(__file__).resolve().parents[2]


def mic(*argv: str) -> int:
    with pytest.raises(SystemExit, match=r"^\d+$") as exited:  # an exit status, never a message
        main(list(argv))
    return int(exited.value.code or 0)


def test_new_renders_a_service(
    framework: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == mic(
        "new",
        "Orders API",
        "--framework",
        framework,
        "--description",
        "Orders",
        "-o",
        str(tmp_path),
    )
    project = tmp_path / "orders-api"
    assert f"created {project}" in capsys.readouterr().out
    assert framework in (project / "pyproject.toml").read_text()
    assert (project / "src" / "orders_api").is_dir()


def test_an_existing_directory_needs_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == mic("new", "billing", "-o", str(tmp_path))
    assert 1 == mic("new", "billing", "-o", str(tmp_path))
    assert "pass --overwrite" in capsys.readouterr().err
    assert 0 == mic("new", "billing", "-o", str(tmp_path), "--overwrite")


@pytest.mark.parametrize("name", ["json", "9lives", "mic"])
def test_a_refused_name_writes_nothing(
    name: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert 1 == mic("new", name, "-o", str(tmp_path))
    err = capfd.readouterr().err  # the template's hook writes to the process's stderr
    assert "mic: error: the template refused these answers" in err
    assert "ERROR: service_name" in err
    assert [] == list(tmp_path.iterdir())


def test_a_checkout_uses_the_repository_template() -> None:
    assert ROOT / "template" == template_dir()


def test_a_broken_installation_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mic.cli import CliError, _new

    monkeypatch.setattr(_new, "_PACKAGE", tmp_path / "a" / "b" / "mic")
    with pytest.raises(CliError, match="template is missing from this installation"):
        template_dir()


@pytest.mark.slow
def test_the_wheel_ships_the_template_and_new_works_from_it(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    (wheel,) = WheelBuilder(str(ROOT)).build(
        directory=str(tmp_path / "dist"), versions=["standard"]
    )
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    assert "mic/_template/cookiecutter.json" in names
    assert any(name.startswith("mic/_template/hooks/") for name in names)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    script = (
        "import mic.cli._new as n, sys; print(n.template_dir()); "
        "sys.argv = ['mic', 'new', 'shipped', '--framework', 'litestar']; "
        "from mic.cli._main import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == result.returncode, result.stderr
    assert str(unpacked / "mic" / "_template") == result.stdout.splitlines()[0]
    assert (work / "shipped" / "pyproject.toml").is_file()

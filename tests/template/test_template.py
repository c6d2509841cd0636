"""The cookiecutter template: it generates a service that passes its own gate, on both frameworks.

Each framework's service is generated once per module, then linted, type-checked and tested
with the tools of the current virtualenv (mic-kit is installed there, so nothing is installed
by these tests), and served with ``make run``.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template"
BIN = Path(sys.executable).parent
FRAMEWORKS = ("fastapi", "litestar")
# The files allowed to differ between the two frameworks; handlers and routes must not.
FRAMEWORK_SPECIFIC = {
    "Makefile",
    "README.md",
    "pyproject.toml",
    "src/orders_api/app.py",
    "tests/test_app.py",
}

Generate = Callable[[str], Path]


def generate(output: Path, **answers: str) -> Path:
    """Render the template into `output` without prompting; the generated project's path."""
    return Path(
        cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output))
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generate:
    """The ``orders-api`` service on a framework, generated once per module."""
    cache: dict[str, Path] = {}

    def get(framework: str) -> Path:
        if framework not in cache:
            output = tmp_path_factory.mktemp(f"generated-{framework}")
            cache[framework] = generate(
                output,
                service_name="Orders API",
                service_description="Orders & <things>",
                http_framework=framework,
            )
        return cache[framework]

    return get


def service_env(service: Path) -> dict[str, str]:
    """Our environment minus what would leak the outer test run (coverage, pytest, make)."""
    leaking = ("COV_CORE_", "COVERAGE_", "PYTEST_", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(leaking)}
    env["PYTHONPATH"] = str(service / "src")
    return env


def run(command: list[str], service: Path) -> subprocess.CompletedProcess[str]:
    """Run `command` in the generated service; stdout and stderr together."""
    return subprocess.run(
        command,
        cwd=service,
        env=service_env(service),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_template_asks_the_three_questions_of_the_readme() -> None:
    context = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    questions = {key: value for key, value in context.items() if not key.startswith("_")}
    assert list(questions) == ["service_name", "service_description", "http_framework"]
    assert questions["service_name"] == "example-service"
    assert questions["http_framework"] == "fastapi"


def test_defaults_generate_example_service(tmp_path: Path) -> None:
    service = generate(tmp_path)
    assert service.name == "example-service"
    assert (service / "src" / "example_service" / "app.py").is_file()
    assert (
        '"mic-kit[fastapi,server,observability,sql,settings]'
        in (service / "pyproject.toml").read_text()
    )


def test_names_are_derived_from_the_service_name(generated: Generate, framework: str) -> None:
    service = generated(framework)
    pyproject = (service / "pyproject.toml").read_text()
    assert service.name == "orders-api"
    assert 'name = "orders-api"' in pyproject
    assert 'description = "Orders & <things>"' in pyproject
    assert f'"mic-kit[{framework},server,observability,sql,settings]>=' in pyproject
    assert "PACKAGE := orders_api" in (service / "Makefile").read_text()


def test_only_the_app_module_knows_the_framework(generated: Generate) -> None:
    fastapi, litestar = (generated(framework) for framework in FRAMEWORKS)
    files = sorted(p.relative_to(fastapi).as_posix() for p in fastapi.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(litestar).as_posix() for p in litestar.rglob("*") if p.is_file()
    )
    _, differing, errors = filecmp.cmpfiles(fastapi, litestar, files, shallow=False)
    assert errors == []
    assert set(differing) == FRAMEWORK_SPECIFIC
    for path in fastapi.glob("src/**/*.py"):
        if path.name != "app.py":
            text = path.read_text().lower()
            assert "fastapi" not in text, path
            assert "litestar" not in text, path


def test_the_makefile_gate_is_lint_typecheck_and_tests(generated: Generate) -> None:
    service = generated("fastapi")
    dry_run = run(["make", "-n", "gate", "BIN=/venv/bin"], service)
    assert dry_run.returncode == 0, dry_run.stdout
    assert dry_run.stdout.splitlines() == [
        "/venv/bin/ruff check src tests",
        "/venv/bin/ruff format --check src tests",
        "/venv/bin/mypy",
        "/venv/bin/python -m pytest --cov --cov-report=term-missing",
    ]


# FastAPI's rendering passes its gate in `test_the_readme_commands_work_from_a_fresh_render`,
# with the tools the README installs; Litestar's is checked here with ours.
@pytest.mark.parametrize("framework", ["litestar"])
def test_generated_code_passes_ruff_and_mypy_strict(generated: Generate, framework: str) -> None:
    service = generated(framework)
    for command in (
        [str(BIN / "ruff"), "check", "src", "tests"],
        [str(BIN / "ruff"), "format", "--check", "src", "tests"],
        [str(BIN / "mypy"), "--strict"],
    ):
        result = run(command, service)
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}"
    assert re.search(r"Success: no issues found in \d+ source files", result.stdout)


@pytest.mark.parametrize("framework", ["litestar"])
def test_generated_tests_pass_at_full_coverage(generated: Generate, framework: str) -> None:
    service = generated(framework)
    result = run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--cov",
            "--cov-report=term-missing",
            "-p",
            "no:cacheprovider",
        ],
        service,
    )
    assert result.returncode == 0, result.stdout
    assert "Required test coverage of 100.0% reached. Total coverage: 100.00%" in result.stdout
    assert re.search(r"=+ \d+ passed in [\d.]+s =+", result.stdout), result.stdout


def test_generated_tests_catch_a_broken_handler(generated: Generate, tmp_path: Path) -> None:
    service = shutil.copytree(generated("litestar"), tmp_path / "broken")
    repository = service / "src" / "orders_api" / "items" / "repository.py"
    source = repository.read_text()
    assert "raise item_name_taken(name)" in source
    repository.write_text(source.replace("raise item_name_taken(name)", "pass"))
    result = run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "memory",
            "tests/items",
        ],
        service,
    )
    assert result.returncode == 1, result.stdout
    assert "FAILED tests/items/test_routes.py::test_a_duplicate_name_is_a_409_problem" in (
        result.stdout
    )




def _wait_for_health(server: subprocess.Popen[str], base: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(f"{base}/health", timeout=1)
        except httpx.TransportError:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "the service did not start within 30 s"
            time.sleep(0.1)  # polling a server another process starts: it cannot signal us


def test_make_run_serves_health_ready_metrics(generated: Generate, framework: str) -> None:
    service = generated(framework)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # A session of its own, so stopping make also stops the uvicorn it started.
    server = subprocess.Popen(
        ["make", "run", f"BIN={BIN}", f"PORT={port}"],
        cwd=service,
        env=service_env(service),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        health = _wait_for_health(server, base)
        ready = httpx.get(f"{base}/ready", timeout=5)
        created = httpx.post(f"{base}/items", json={"name": "bolt"}, timeout=5)
        metrics = httpx.get(f"{base}/metrics", timeout=5)
        docs = httpx.get(f"{base}/docs", timeout=5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=10)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()["probes"]["items"]["status"]) == (200, "up")
    assert created.status_code == 201
    series = 'http_server_requests_total{method="POST",route="/items",status_class="2xx"} 1.0'
    assert series in metrics.text
    assert (docs.status_code, "text/html") == (200, docs.headers["content-type"].split(";")[0])


def test_the_container_and_ci_files_are_generated(generated: Generate) -> None:
    """No Docker daemon here: the image's promises are checked in the Dockerfile's text."""
    service = generated("fastapi")
    dockerfile = (service / "Dockerfile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert ["FROM python:3.12-slim AS build", "FROM python:3.12-slim"] == stages
    assert "\nUSER app\n" in dockerfile
    assert 'CMD ["python", "-m", "orders_api"]' in dockerfile
    workflow = (service / ".github" / "workflows" / "ci.yml").read_text()
    assert "${{ vars.MIC_KIT || 'mic-kit' }}" in workflow
    assert "- run: make gate" in workflow
    assert "MIC_STORAGE__URL" in (service / ".env.example").read_text()


def test_make_knows_where_to_install_mic_kit_from(generated: Generate) -> None:
    service = generated("litestar")
    dry_run = run(["make", "-n", "bootstrap-dev"], service)
    install = [line for line in dry_run.stdout.splitlines() if "-e '.[dev]'" in line]
    assert [
        f".venv/bin/python -m pip install --quiet '{ROOT}[litestar,server,observability,"
        "sql,settings]' -e '.[dev]'"
    ] == install
    override = run(["make", "-n", "bootstrap-dev", "MIC_KIT=/wheels/mic_kit.whl"], service)
    assert "'/wheels/mic_kit.whl[litestar," in override.stdout


def test_outside_a_checkout_mic_kit_comes_from_the_index(tmp_path: Path) -> None:
    template = shutil.copytree(TEMPLATE, tmp_path / "elsewhere" / "template")
    service = Path(cookiecutter(str(template), no_input=True, output_dir=str(tmp_path)))
    assert "MIC_KIT ?= mic-kit\n" in (service / "Makefile").read_text()


@pytest.mark.slow
@pytest.mark.timeout(900)  # a real install: minutes on a loaded machine, not the usual 120 s
def test_the_readme_commands_work_from_a_fresh_render(tmp_path: Path) -> None:
    """`make bootstrap-dev` then `make gate`, as the README says, in a new virtualenv."""
    service = generate(tmp_path, service_name="Fresh API")
    readme = (service / "README.md").read_text()
    assert "make bootstrap-dev && source .venv/bin/activate\nmake gate" in readme
    env = {k: v for k, v in service_env(service).items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for target, limit in (("bootstrap-dev", 600), ("gate", 300)):
        result = subprocess.run(
            ["make", target],
            cwd=service,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=limit,
            check=False,
        )
        assert result.returncode == 0, f"make {target}:\n{result.stdout[-4000:]}"
    assert "Required test coverage of 100.0% reached" in result.stdout
    assert "Success: no issues found" in result.stdout


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (
            {"http_framework": "django"},
            "http_framework must be one of fastapi, litestar, not 'django'",
        ),
        (
            {"http_framework": "FastAPI"},
            "http_framework must be one of fastapi, litestar, not 'FastAPI'",
        ),
        (
            {"service_name": "1 bad!"},
            "service_name '1 bad!' gives the name '1-bad!'; use lower-case",
        ),
        ({"service_name": "my--service"}, "gives the name 'my--service'"),
        ({"service_name": "json"}, "gives the package 'json', which would shadow"),
        ({"service_name": "mic"}, "gives the package 'mic', which would shadow"),
        ({"service_description": 'Say "hi"'}, "service_description must be one line without"),
        ({"service_description": "two\nlines"}, "service_description must be one line without"),
    ],
)
def test_the_pre_generation_hook_rejects_bad_answers(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], answers: dict[str, str], message: str
) -> None:
    with pytest.raises(FailedHookException, match="Hook script failed"):
        generate(tmp_path, **answers)
    assert message in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_hook_reports_every_problem_at_once(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FailedHookException, match="Hook script failed"):
        generate(tmp_path, http_framework="flask", service_name="Bad Name!")
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 2
    assert "http_framework" in errors[0]
    assert "service_name" in errors[1]

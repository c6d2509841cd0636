"""Third-party tools read the served contract of the demo as users would, on both frameworks.

A headless browser renders the offline docs page; ``openapi-python-client`` generates a
client whose typed models parse every documented answer; ``schemathesis`` fuzzes the API
(stateful too, through the document's links) and finds nothing. Each fails on a contract
regression: a blank page, a generator warning, an undocumented status, a schema the server
does not honour.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.examples.demo_server import ROOT, operator_token, running_demo

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is missing: install the dev extra"
    return str(path)


def _chromium() -> str:
    """Debian's chromium (``.ci/run`` installs it); skipped locally, a failure in CI."""
    found = shutil.which("chromium") or "/usr/bin/chromium"
    if os.path.exists(found):
        return found
    message = "chromium is not installed (apt-get install chromium)"
    if os.environ.get("MIC_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} and MIC_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def test_the_docs_page_renders_every_operation_offline(framework: str, tmp_path: Path) -> None:
    browser = _chromium()
    with running_demo(framework) as base_url:
        operations = httpx.get(f"{base_url}/openapi.json").json()["paths"]
        page = httpx.get(f"{base_url}/docs").text
        command = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            f"{base_url}/docs",
        ]
        dom = subprocess.run(command, capture_output=True, timeout=90, check=True).stdout.decode()
        if artifacts := os.environ.get("MIC_TEST_ARTIFACTS"):
            shot = Path(artifacts) / f"docs-{framework}.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    *command[:-2],
                    f"--screenshot={shot}",
                    "--window-size=1280,1600",
                    f"{base_url}/docs",
                ],
                capture_output=True,
                timeout=90,
                check=True,
            )
    # Nothing on the page comes from another host: it renders with no internet.
    assert "//" not in page.replace("<!DOCTYPE html>", "")
    rendered = {
        (path, method.upper())
        for path, item in operations.items()
        for method in item
        if f'data-path="{path}"' in dom
    }
    expected = {(path, method.upper()) for path, item in operations.items() for method in item}
    assert len(expected) == 7  # five items operations, GET /events and the cache purge
    assert expected == rendered
    assert dom.count('class="opblock-summary-method"') == len(expected)


def _generate_client(base_url: str, target: Path) -> str:
    """Generate a client from the served document; returns the generator's output."""
    document = target.parent / "openapi.json"
    document.write_bytes(httpx.get(f"{base_url}/openapi.json").content)
    config = target.parent / "generator.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter: the code as generated
    result = subprocess.run(
        [
            _tool("openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(target),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_a_generated_client_parses_every_documented_answer(framework: str, tmp_path: Path) -> None:
    package = f"demo_client_{framework}"
    with running_demo(framework) as base_url:
        output = _generate_client(base_url, tmp_path / package)
        assert "Warning" not in output, output
        sys.path.insert(0, str(tmp_path))
        try:
            answers = _exercise(importlib.import_module(package), base_url)
        finally:
            sys.path.remove(str(tmp_path))
            for name in [m for m in sys.modules if m.split(".")[0] == package]:
                del sys.modules[name]
    assert [
        ("ItemEnvelope", 201),
        ("ItemListPageMetaEnvelope", 200),
        ("ItemEnvelope", 200),
        ("ProblemDetails", 404, "item_not_found"),
        ("ProblemDetails", 409, "version_conflict"),
        ("ProblemDetails", 422, "validation_failed"),
        ("NoneType", 204),
    ] == answers


def _exercise(client_package: Any, base_url: str) -> list[tuple[Any, ...]]:
    """Call every operation through the generated client; what each answer parsed into."""
    api = importlib.import_module(f"{client_package.__name__}.api.items")
    models = importlib.import_module(f"{client_package.__name__}.models")
    create, listing, get, replace, delete = (
        importlib.import_module(f"{api.__name__}.items_{name}")
        for name in ("create", "list", "get", "replace", "delete")
    )
    answers: list[tuple[Any, ...]] = []

    def parsed(response: Any) -> Any:
        value = response.parsed
        entry: tuple[Any, ...] = (type(value).__name__, int(response.status_code))
        if isinstance(value, models.ProblemDetails):
            entry = (*entry, value.code)
        answers.append(entry)
        return value

    with client_package.Client(base_url=base_url, raise_on_unexpected_status=True) as client:
        _calls(client, parsed, models, (create, listing, get, replace, delete))
    return answers


def _calls(client: Any, parsed: Any, models: Any, operations: tuple[Any, ...]) -> None:
    create, listing, get, replace, delete = operations
    created = parsed(
        create.sync_detailed(client=client, body=models.CreateItemPayload(name="bolt", quantity=3))
    )
    assert (True, "bolt", 3, None) == (
        created.success,
        created.data.name,
        created.data.quantity,
        created.meta,
    )
    page = parsed(listing.sync_detailed(client=client, limit=10))
    assert ([created.data.id], None) == ([i.id for i in page.data], page.meta.next_cursor)
    parsed(get.sync_detailed(client=client, item_id=created.data.id))
    parsed(get.sync_detailed(client=client, item_id=uuid.uuid4()))
    stale = models.UpdateItemPayload(name="nut", quantity=1, version=created.data.version + 5)
    parsed(replace.sync_detailed(client=client, item_id=created.data.id, body=stale))
    parsed(create.sync_detailed(client=client, body=models.CreateItemPayload(name="", quantity=-1)))
    parsed(delete.sync_detailed(client=client, item_id=created.data.id))


def test_schemathesis_finds_nothing_with_every_check(framework: str, tmp_path: Path) -> None:
    with running_demo(framework) as base_url:
        result = subprocess.run(
            [
                _tool("schemathesis"),
                "--config-file",
                str(ROOT / "tests/examples/schemathesis.toml"),
                "--no-color",
                "run",
                f"{base_url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                "15",
                "--seed",
                "9",
                "--workers",
                "1",
                "--header",
                f"Authorization: Bearer {operator_token()}",
            ],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            cwd=tmp_path,
        )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "Stateful" in report, report
    assert "No issues found" in report, report

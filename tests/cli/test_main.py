"""The ``mic`` command in process: routes, openapi, diff, new, and its errors."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mic.cli._main import main
from mic.http import build_openapi

from . import sample_service

SAMPLE = "tests.cli.sample_service"


def mic(*argv: str) -> int:
    with pytest.raises(SystemExit, match=r"^\d+$") as exited:  # an exit status, never a message
        main(list(argv))
    return int(exited.value.code or 0)


def test_routes_of_a_service_on_both_frameworks(
    framework: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == mic("routes", f"{SAMPLE}:service", "--framework", framework)
    assert [
        "METHODS  PATH              NAME          SECURITY  SUMMARY",
        "POST     /items            items.create  -",
        "GET      /items/{item_id}  items.get     -         Get an item",
    ] == capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(
    "target",
    [
        "routes",
        "create_routes --factory",
        "fastapi_app",
        "fastapi_router --factory",
        "litestar_router --factory",
        "create --factory",
    ],
)
def test_routes_as_json_from_every_kind_of_target(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name, *flags = target.split()
    assert 0 == mic("routes", f"{SAMPLE}:{name}", *flags, "--format", "json")
    rows = json.loads(capsys.readouterr().out)
    prefix = "/v1" if "router" in name else ""
    assert [f"{prefix}/items", f"{prefix}/items/{{item_id}}"] == [row["path"] for row in rows]
    assert {"methods", "path", "name", "security", "summary"} == set(rows[0])


def test_openapi_of_a_service_is_what_its_app_serves(tmp_path: Path) -> None:
    import httpx

    async def fetch() -> bytes:
        transport = httpx.ASGITransport(app=sample_service.service.build_app("fastapi"))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get("/openapi.json")).content

    output = tmp_path / "openapi.json"
    assert 0 == mic("openapi", f"{SAMPLE}:service", "-o", str(output))
    assert asyncio.run(fetch()) == output.read_bytes()


def test_openapi_of_bare_routes_is_build_openapi(tmp_path: Path) -> None:
    output = tmp_path / "openapi.json"
    assert 0 == mic(
        "openapi", f"{SAMPLE}:routes", "-o", str(output), "--title", "t", "--doc-version", "3.1.4"
    )
    expected = build_openapi(sample_service.routes, title="t", version="3.1.4")
    assert expected == json.loads(output.read_bytes())


def test_openapi_of_a_router_keeps_its_prefix(tmp_path: Path) -> None:
    output = tmp_path / "openapi.json"
    assert 0 == mic("openapi", f"{SAMPLE}:litestar_router", "--factory", "-o", str(output))
    assert ["/v1/items/{item_id}", "/v1/items"] == list(json.loads(output.read_bytes())["paths"])


def test_openapi_goes_to_stdout() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mic", "openapi", f"{SAMPLE}:routes"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert 0 == result.returncode, result.stderr
    assert "3.1.0" == json.loads(result.stdout)["openapi"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["routes", "nocolon"], "'nocolon' is not module:attribute"),
        (["routes", "no_such_module_x:app"], "no module named 'no_such_module_x'"),
        (["routes", f"{SAMPLE}:missing"], "has no attribute 'missing'"),
        (["routes", f"{SAMPLE}:not_a_target"], "no mic routes found in this int"),
        (["routes", f"{SAMPLE}:empty"], "no mic routes found in this tuple"),
        (
            ["routes", f"{SAMPLE}:not_a_target", "--factory"],
            "--factory needs a callable, not a int",
        ),
        (["routes", f"{SAMPLE}:fastapi_app", "--framework", "litestar"], "already an app"),
        (["openapi", f"{SAMPLE}:raw_app"], "the app answered 404 to GET /openapi.json"),
        (["openapi", f"{SAMPLE}:not_a_target"], "no mic routes found in this int"),
        (
            ["openapi", f"{SAMPLE}:routes", "-o", "/nonexistent-dir/x.json"],
            "cannot write /nonexistent-dir/x.json",
        ),
        (["run", f"{SAMPLE}:not_a_target"], "cannot serve a int: expected a Service"),
    ],
)
def test_bad_targets_are_one_clear_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 1 == mic(*argv)
    err = capsys.readouterr().err
    assert err.startswith("mic: error: ")
    assert message in err


@pytest.mark.parametrize("port", ["x", "70000", "-1"])
def test_a_bad_port_is_a_usage_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == mic("run", f"{SAMPLE}:service", "--port", port)
    assert "--port" in capsys.readouterr().err


def test_a_missing_module_inside_the_users_code_keeps_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_app_mod.py").write_text("import not_installed_dependency_x\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="not_installed_dependency_x"):
        main(["routes", "broken_app_mod:app"])


def write(path: Path, document: Any) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_diff_exits_1_on_breaking_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = build_openapi(sample_service.routes)
    new = build_openapi(sample_service.routes[:1])
    assert 1 == mic("diff", write(tmp_path / "old.json", old), write(tmp_path / "new.json", new))
    out = capsys.readouterr().out
    assert "1 breaking" in out
    assert "BREAKING POST /items: the operation was removed [operation.removed]" in out


def test_diff_exits_0_on_compatible_changes_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = build_openapi(sample_service.routes[:1])
    new = build_openapi(sample_service.routes)
    assert 0 == mic(
        "diff",
        write(tmp_path / "old.json", old),
        write(tmp_path / "new.json", new),
        "--format",
        "json",
    )
    report = json.loads(capsys.readouterr().out)
    assert (False, ["operation.added"]) == (
        report["breaking"],
        [c["rule"] for c in report["changes"]],
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not a JSON document"),
        (b"\xff\xfe", "is not a JSON document"),
        ('{"swagger": "2.0"}', "unsupported contract document (swagger '2.0')"),
        ("a: [b", "is not a YAML document"),
    ],
)
def test_diff_refuses_bad_files(
    tmp_path: Path, content: str | bytes | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path / "good.json", build_openapi(sample_service.routes))
    bad = tmp_path / ("bad.yaml" if content == "a: [b" else "bad.json")
    if isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content)
    assert 1 == mic("diff", str(bad), good)
    assert message in capsys.readouterr().err


def test_diff_reads_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(build_openapi(sample_service.routes)))
    new = write(tmp_path / "new.json", build_openapi(sample_service.routes[1:]))
    assert 1 == mic("diff", str(old), new)
    assert "BREAKING GET /items/{item_id}: the operation was removed" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["catalog --factory", "holder", "asyncapi_document"])
def test_asyncapi_exports_a_catalog(target: str, tmp_path: Path) -> None:
    name, *flags = target.split()
    output = tmp_path / "asyncapi.json"
    assert 0 == mic("asyncapi", f"{SAMPLE}:{name}", *flags, "-o", str(output))
    assert "3.0.0" == json.loads(output.read_bytes())["asyncapi"]


def test_asyncapi_refuses_other_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert 1 == mic("asyncapi", f"{SAMPLE}:routes")
    assert "cannot export a tuple: expected an EventCatalog" in capsys.readouterr().err


def test_exported_event_contracts_are_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mic asyncapi`` twice, then ``mic diff``: a new field in a sent message is compatible,
    losing it again breaks the consumers."""
    old, new = tmp_path / "v1.json", tmp_path / "v2.json"
    assert 0 == mic("asyncapi", f"{SAMPLE}:catalog", "--factory", "-o", str(old))
    assert 0 == mic("asyncapi", f"{SAMPLE}:catalog_v2", "--factory", "-o", str(new))
    capsys.readouterr()
    assert 0 == mic("diff", str(old), str(new))
    assert "asyncapi 1.0.0 -> 2.0.0" in capsys.readouterr().out
    assert 1 == mic("diff", str(new), str(old), "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert ["response.property.removed"] == [c["rule"] for c in report["changes"] if c["breaking"]]


def test_bare_routes_export_what_a_plain_app_of_them_serves(framework: str, tmp_path: Path) -> None:
    from mic.cli._asgi import asgi_get

    if framework == "fastapi":
        from mic.fastapi import build_fastapi_app as build
    else:
        from mic.litestar import build_litestar_app as build
    output = tmp_path / "openapi.json"
    assert 0 == mic("openapi", f"{SAMPLE}:routes", "-o", str(output))
    status, served = asyncio.run(asgi_get(build(routes=sample_service.routes), "/openapi.json"))
    assert (200, served) == (status, output.read_bytes())

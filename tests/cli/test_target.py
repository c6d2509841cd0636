"""How ``mic`` recognizes targets, builds apps from them and reads their documents in process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from mic.cli import CliError
from mic.cli._asgi import asgi_get
from mic.cli._target import build_app, call_factory, is_asgi_app, load_object, route_specs

from . import sample_service


class AsgiObject:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...


class NotAsgi:
    def __call__(self, framework: str) -> None: ...


async def star_app(*args: Any) -> None: ...


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (AsgiObject(), True),
        (sample_service.raw_app, True),
        (star_app, True),
        (NotAsgi(), False),
        (AsgiObject, False),
        (42, False),
        (len, False),
        (sample_service.create, False),
    ],
)
def test_asgi_apps_are_recognized(candidate: object, expected: bool) -> None:
    assert expected == is_asgi_app(candidate)


def test_a_factory_without_a_signature_is_called_without_arguments() -> None:
    assert () == call_factory(tuple, "fastapi")


def test_a_single_spec_is_a_route_list() -> None:
    assert sample_service.routes[:1] == route_specs(sample_service.routes[0])
    assert route_specs("abc") is None


@pytest.mark.parametrize(("framework", "kind"), [(None, "FastAPI"), ("litestar", "Litestar")])
def test_bare_routes_are_served_on_the_chosen_framework(framework: str | None, kind: str) -> None:
    assert kind == type(build_app(sample_service.routes, framework)).__name__


def test_the_current_directory_is_importable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cwd_target_mod.py").write_text("value = 3\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert 3 == load_object("cwd_target_mod:value")


def test_a_nested_attribute_is_found() -> None:
    assert "items.get" == load_object("tests.cli.sample_service:routes").__getitem__(0).name
    with pytest.raises(CliError, match=r"has no attribute 'service\.nope'"):
        load_object("tests.cli.sample_service:service.nope")


def test_asgi_get_reads_a_chunked_body_and_answers_a_second_receive() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert "/doc" == scope["path"]
        assert b"a=1" == scope["query_string"]
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ab", "more_body": True})
        await send({"type": "http.response.body", "body": b"cd"})
        assert "http.disconnect" == (await receive())["type"]

    assert (200, b"abcd") == asyncio.run(asgi_get(app, "/doc?a=1"))


def test_run_hands_the_app_to_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from mic.cli._main import main

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    with pytest.raises(SystemExit, match="0"):
        main(
            [
                "run",
                "tests.cli.sample_service:fastapi_app",
                "--host",
                "0.0.0.0",
                "--port",
                "9000",
                "--proxy-headers",
            ]
        )
    ((app, options),) = calls
    assert app is sample_service.fastapi_app
    assert {
        "host": "0.0.0.0",
        "port": 9000,
        "log_level": "info",
        "proxy_headers": True,
        "lifespan": "on",
    } == options


def test_run_without_uvicorn_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from mic import MissingDependencyError
    from mic.cli._main import main

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(MissingDependencyError, match=r"mic-kit\[cli\]"):
        main(["run", "tests.cli.sample_service:service"])


def test_a_service_with_a_default_framework_chooses_it() -> None:
    assert "Litestar" == type(build_app(sample_service.defaulting, None)).__name__
    assert "FastAPI" == type(build_app(sample_service.defaulting, "fastapi")).__name__
    assert "FastAPI" == type(build_app(sample_service.service, None)).__name__

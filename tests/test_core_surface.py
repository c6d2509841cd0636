"""The core exports the spec's names, and it works with no extra installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import mic
import mic.contracts
import mic.fastapi
import mic.http
import mic.litestar
import mic.model

# The names the spec's README uses; the whole surface of every package is checked against its
# namespace by tests/test_public_surface.py (no copied lists).
SPEC_NAMES = {
    mic.contracts: {"StrictSchema", "HttpSuccessEnvelope", "wrap_http_success"},
    mic.model: {"DomainError", "TransientError"},
    mic.http: {"HttpRouteSpec", "HttpResponseSpec", "HttpCookieSpec", "HttpRequestContext"},
    mic.fastapi: {"build_fastapi_router"},
    mic.litestar: {"build_litestar_router"},
}


@pytest.mark.parametrize("module", list(SPEC_NAMES), ids=lambda m: m.__name__)
def test_the_spec_names_are_exported(module: object) -> None:
    assert SPEC_NAMES[module] <= set(module.__all__)  # type: ignore[attr-defined]


BLOCKER = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"No module named {{name!r}}")
        return None
sys.meta_path.insert(0, Blocker())
"""


def _run(blocked: set[str], code: str) -> subprocess.CompletedProcess[str]:
    script = BLOCKER.format(blocked=blocked) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


def test_core_imports_without_any_extra() -> None:
    extras = {
        "fastapi",
        "starlette",
        "litestar",
        "httpx",
        "jwt",
        "sqlalchemy",
        "sqlmodel",
        "redis",
        "nats",
        "prometheus_client",
        "opentelemetry",
        "uvicorn",
        "msgspec",
        "anyio",
    }
    result = _run(
        extras,
        """
        import sys
        import mic, mic.contracts, mic.model, mic.http, mic.context
        from mic.http import build_openapi, HttpRouteSpec
        async def h(*, n: int) -> None: ...
        build_openapi([HttpRouteSpec(method="GET", path="/n/{n}", name="n", category="c", handler=h)])
        print(sorted(m for m in sys.modules if m.partition(".")[0] in {"fastapi", "litestar", "starlette"}))
    """,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


@pytest.mark.parametrize(
    ("module", "extra"), [("mic.fastapi", "fastapi"), ("mic.litestar", "litestar")]
)
def test_adapters_name_their_extra_when_missing(module: str, extra: str) -> None:
    result = _run(
        {extra},
        f"""
        from mic import MissingDependencyError
        try:
            import {module}
        except MissingDependencyError as error:
            print(type(error).__name__, isinstance(error, ImportError), error.extra, error)
    """,
    )
    expected = f"MissingDependencyError True {extra} '{extra}' is not installed; install it with: pip install 'mic-kit[{extra}]'"
    assert expected == result.stdout.strip(), result.stderr


def test_every_package_imports_without_its_extra() -> None:
    """Backends import their dependency where they use it: `import mic.<pkg>` never needs one."""
    extras = {
        "sqlalchemy",
        "sqlmodel",
        "aiosqlite",
        "psycopg",
        "redis",
        "nats",
        "jwt",
        "httpx",
        "prometheus_client",
        "opentelemetry",
        "alembic",
        "fastapi",
        "litestar",
        "starlette",
        "uvicorn",
    }
    result = _run(
        extras,
        """
        import importlib, pkgutil
        import mic
        from mic import MissingDependencyError
        for module in sorted(m.name for m in pkgutil.iter_modules(mic.__path__) if not m.name.startswith("_")):
            try:
                importlib.import_module(f"mic.{module}")
                print(module, "ok")
            except MissingDependencyError as error:
                print(module, "needs", error.extra)
    """,
    )
    lines = result.stdout.splitlines()
    assert ["fastapi needs fastapi", "litestar needs litestar"] == [
        line for line in lines if "needs" in line
    ], result.stderr
    assert {
        "auth ok",
        "cache ok",
        "datastorage ok",
        "eventbus ok",
        "http ok",
        "observability ok",
        "outbox ok",
        "ratelimit ok",
        "healthcheck ok",
        "idempotency ok",
        "locking ok",
    } <= set(lines)

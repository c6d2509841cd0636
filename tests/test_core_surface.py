"""The core's public surface is pinned, and it works with no extra installed."""

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

EXPECTED = {
    mic: ["MicError", "MissingDependencyError", "__version__"],
    mic.contracts: ["HttpSuccessEnvelope", "PageMeta", "StrictSchema", "wrap_http_success"],
    mic.model: [
        "ConflictError",
        "DomainError",
        "ForbiddenError",
        "NotFoundError",
        "PayloadTooLargeError",
        "RateLimitedError",
        "TransientError",
        "UnauthorizedError",
        "UnsupportedMediaTypeError",
        "ValidationFailedError",
    ],
    mic.http: [
        "PROBLEM_JSON",
        "ApiDocs",
        "ClientDisconnectedError",
        "CompiledRoute",
        "Cookie",
        "CookieSameSite",
        "Endpoint",
        "HandlerParameter",
        "HandlerSignature",
        "Header",
        "Headers",
        "HttpCookieSpec",
        "HttpLink",
        "HttpRequestContext",
        "HttpResponse",
        "HttpResponseSpec",
        "HttpRouteSpec",
        "HttpRouterConfig",
        "Identity",
        "Interceptor",
        "Path",
        "ProblemDetails",
        "Public",
        "Query",
        "QueryParams",
        "RequestCheck",
        "RouteInterceptor",
        "RouteSpecError",
        "SecurityRequirement",
        "CorsPolicy",
        "CsrfPolicy",
        "SecurityHeaders",
        "build_openapi",
        "compile_routes",
        "render_problem",
        "resolve_handler",
        # The adapter interface (ADR 0070).
        "PROBLEM_SCHEMA",
        "AsgiApp",
        "CompiledRouter",
        "ExtraEndpoint",
        "MethodNotAllowedApp",
        "OptionsApp",
        "PathTarget",
        "UnroutedResponder",
        "error_statuses",
        "operation_id",
        "render_internal_error",
        "render_status_problem",
        "static_endpoints",
    ],
    mic.fastapi: [
        "build_fastapi_app",
        "build_fastapi_realtime_router",
        "build_fastapi_router",
        "check_fastapi_app",
        "install_problem_handlers",
        "problem_exception_handlers",
        "serve_openapi",
    ],
    mic.litestar: [
        "build_litestar_app",
        "build_litestar_realtime_router",
        "build_litestar_router",
        "problem_exception_handlers",
        "install_problem_handlers",
        "serve_openapi",
    ],
}


@pytest.mark.parametrize("module", list(EXPECTED), ids=lambda m: m.__name__)
def test_public_names_are_pinned(module: object) -> None:
    assert sorted(EXPECTED[module]) == sorted(module.__all__)  # type: ignore[attr-defined]
    for name in module.__all__:  # type: ignore[attr-defined]
        assert hasattr(module, name), name


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

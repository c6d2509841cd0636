"""Serve `mic.http` route specs on FastAPI (extra: ``mic-kit[fastapi]``)."""

from mic._deps import require as _require

_require("fastapi", "fastapi")

from mic.fastapi._realtime import build_fastapi_realtime_router  # noqa: E402
from mic.fastapi._router import (  # noqa: E402
    build_fastapi_app,
    build_fastapi_router,
    check_fastapi_app,
    install_problem_handlers,
    problem_exception_handlers,
    serve_openapi,
)

__all__ = [
    "build_fastapi_app",
    "build_fastapi_realtime_router",
    "build_fastapi_router",
    "check_fastapi_app",
    "install_problem_handlers",
    "problem_exception_handlers",
    "serve_openapi",
]

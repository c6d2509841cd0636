"""Serve `mic.http` route specs on Litestar (extra: ``mic-kit[litestar]``)."""

from mic._deps import require as _require

_require("litestar", "litestar")

from mic.litestar._realtime import build_litestar_realtime_router  # noqa: E402
from mic.litestar._router import (  # noqa: E402
    build_litestar_app,
    build_litestar_router,
    install_problem_handlers,
    problem_exception_handlers,
    serve_openapi,
)

__all__ = [
    "build_litestar_app",
    "build_litestar_realtime_router",
    "build_litestar_router",
    "install_problem_handlers",
    "problem_exception_handlers",
    "serve_openapi",
]

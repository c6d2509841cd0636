"""What ``mic run|routes|openapi module:attr`` points at, and how to get an app or routes from it.

A target is a mic ``Service`` (anything with ``build_app(framework)``), an ASGI app, a router
built by mic, one `HttpRouteSpec` or a sequence of them, or, with ``--factory``, a callable
returning one of those. Importing runs the user's module: its own errors propagate as they
are, while a reference that names nothing is a `CliError` saying what was expected.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from mic.cli._spec import CliError
from mic.http import CompiledRoute, HttpRouteSpec

FRAMEWORKS: Final = ("fastapi", "litestar")
_MAX_NESTING: Final = 16
_METHOD_ORDER: Final = {
    m: i for i, m in enumerate(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"))
}
EXPECTED: Final = (
    "a Service (an object with build_app(framework)), an ASGI app, a router built by mic, "
    "or a sequence of HttpRouteSpec"
)


def load_object(reference: str) -> Any:
    """The object `reference` (``package.module:attribute.path``) names.

    The current directory is importable, as it is for ``python -m``.

    Raises:
        CliError: Not ``module:attribute``, no such module, or no such attribute.
    """
    module_name, separator, attribute = reference.partition(":")
    if not separator or not module_name or not attribute:
        raise CliError(f"{reference!r} is not module:attribute (for example app.main:service)")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is None or not module_name.startswith(error.name):
            raise  # a module the user's code imports is missing: their traceback helps
        raise CliError(
            f"no module named {module_name!r} (run from the project directory or set PYTHONPATH)"
        ) from None
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise CliError(f"{module_name!r} has no attribute {attribute!r}") from None
    return found


def is_asgi_app(candidate: object) -> bool:
    """Whether `candidate` looks like an ASGI 3 app: ``app(scope, receive, send)``."""
    if inspect.isclass(candidate) or not callable(candidate):
        return False
    call = candidate if inspect.isroutine(candidate) else type(candidate).__call__
    try:
        parameters = list(inspect.signature(call).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    if not inspect.isroutine(candidate):
        parameters = parameters[1:]  # ``self``
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return len(positional) <= 3
    return len(positional) == 3


def call_factory(factory: object, framework: str | None) -> Any:
    """What `factory` returns, given `framework` when it takes a ``framework`` argument.

    Raises:
        CliError: `factory` is not callable.
    """
    if not callable(factory):
        raise CliError(f"--factory needs a callable, not a {type(factory).__name__}")
    try:
        takes_framework = "framework" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        takes_framework = False
    return factory(framework=framework) if takes_framework else factory()


def build_app(target: object, framework: str | None) -> Any:
    """The ASGI app to serve for `target`.

    Raises:
        CliError: `framework` was given for a ready-made app, or `target` is none of the
            kinds `mic` serves.
    """
    builder = getattr(target, "build_app", None)
    if callable(builder):
        if framework is None and _takes_no_required_argument(builder):
            return builder()  # the Service chooses (its settings, for mic.service.Service)
        return builder(framework or FRAMEWORKS[0])
    if is_asgi_app(target):
        if framework is not None:
            raise CliError(
                "--framework chooses the framework of a Service; this target is already an app"
            )
        return target
    routes = route_specs(target)
    if routes is not None:
        return _app_from_routes(routes, framework or FRAMEWORKS[0])
    raise CliError(
        f"cannot serve a {type(target).__name__}: expected {EXPECTED} "
        "(a function returning one needs --factory)"
    )


def _takes_no_required_argument(function: Any) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters
    )


def _app_from_routes(routes: tuple[HttpRouteSpec, ...], framework: str) -> Any:
    if framework == "litestar":
        from mic.litestar import build_litestar_app

        return build_litestar_app(routes=routes)
    from mic.fastapi import build_fastapi_app

    return build_fastapi_app(routes=routes)


@dataclass(frozen=True, slots=True)
class RouteRow:
    """One line of ``mic routes``: a route as served.

    Attributes:
        methods: Its HTTP methods.
        path: Its full path template (router prefix included).
        name: The route's name (``items.get``).
        security: Names of the security schemes it requires.
        summary: Its summary, or ``""``.
    """

    methods: tuple[str, ...]
    path: str
    name: str
    security: tuple[str, ...]
    summary: str


def route_specs(target: object) -> tuple[HttpRouteSpec, ...] | None:
    """The route specs `target` is, or holds in a ``routes`` attribute; else ``None``."""
    if isinstance(target, HttpRouteSpec):
        return (target,)
    if (
        isinstance(target, Sequence)
        and not isinstance(target, str)
        and target
        and all(isinstance(item, HttpRouteSpec) for item in target)
    ):
        return tuple(target)
    held = getattr(target, "routes", None)
    if held is not None and held is not target and not callable(held):
        return route_specs(held)
    return None


def compiled_routes(app_or_router: object) -> tuple[CompiledRoute, ...]:
    """The mic routes an app or router built by mic serves, in registration order.

    An accessor of our own (the adapters expose none yet): it walks the framework's public
    route list (``app.routes`` / ``router.routes``, each route's endpoint or handlers) and
    keeps the `CompiledRoute`s mic registered there. Routes the app defines itself, outside
    mic, are not listed.
    """
    found: dict[int, CompiledRoute] = {}
    _visit(app_or_router, found, depth=0)
    return tuple(found.values())


def _visit(node: object, found: dict[int, CompiledRoute], *, depth: int) -> None:
    if depth > _MAX_NESTING:
        return
    for route in getattr(node, "routes", None) or ():
        endpoints = [getattr(route, "endpoint", None), getattr(route, "app", None)]
        endpoints.extend(getattr(h, "fn", None) for h in getattr(route, "route_handlers", ()))
        for endpoint in endpoints:
            compiled = _compiled_in(endpoint)
            if compiled is not None:
                found.setdefault(id(compiled), compiled)
        # Included routers and mounts hold routes of their own (FastAPI keeps the included
        # router as ``original_router``; Starlette's ``Mount`` exposes ``routes``).
        for child in (getattr(route, "original_router", None), getattr(route, "router", None)):
            if child is not None and child is not node:
                _visit(child, found, depth=depth + 1)
        if getattr(route, "routes", None) and route is not node:
            _visit(route, found, depth=depth + 1)


def _compiled_in(endpoint: object) -> CompiledRoute | None:
    if isinstance(endpoint, CompiledRoute):
        return endpoint
    if not inspect.isfunction(endpoint):
        return None
    cells = [cell.cell_contents for cell in endpoint.__closure__ or ()]
    for value in (*vars(endpoint).values(), *cells):
        if isinstance(value, CompiledRoute):
            return value
    return None


def route_rows(target: object, framework: str | None) -> tuple[RouteRow, ...]:
    """Every mic route `target` serves, for ``mic routes``.

    A Service is asked for its app (so router-wide policies show); bare specs are compiled
    alone; an app or router built by mic is walked with `compiled_routes`.

    Raises:
        CliError: `target` holds no mic routes.
    """
    specs = route_specs(target)
    if callable(getattr(target, "build_app", None)) or is_asgi_app(target):
        compiled = compiled_routes(build_app(target, framework))
    elif specs is not None:
        from mic.http import compile_routes

        compiled = compile_routes(specs)
    else:
        compiled = compiled_routes(target)
    if not compiled:
        raise CliError(f"no mic routes found in this {type(target).__name__}: expected {EXPECTED}")
    ordered = sorted(
        compiled, key=lambda route: (route.path, _METHOD_ORDER.get(route.spec.methods[0], 9))
    )
    return tuple(
        RouteRow(
            route.spec.methods,
            route.path,
            route.spec.name,
            tuple(s.scheme_name for s in route.security),
            route.spec.summary or "",
        )
        for route in ordered
    )

"""The ``mic`` command: ``new``, ``run``, ``routes``, ``openapi``, ``asyncapi`` and ``diff``.

Built with `mic.cli` itself (argparse, ADR 0085). Installed as a console script by the
``cli`` extra, and runnable as ``python -m mic``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from mic import __version__
from mic._deps import MissingDependencyError, require
from mic.cli._spec import CliCommandSpec, CliError, argument, build_parser, dispatch
from mic.cli._target import (
    EXPECTED,
    FRAMEWORKS,
    build_app,
    call_factory,
    compiled_routes,
    is_asgi_app,
    load_object,
    route_rows,
    route_specs,
)

EXIT_BREAKING: Final = 1
DOCUMENT_PATH: Final = "/openapi.json"

_TARGET = argument(
    "target",
    metavar="MODULE:ATTR",
    help="what to load, e.g. app.main:service (from the current directory)",
)
_FRAMEWORK = argument(
    "--framework",
    choices=FRAMEWORKS,
    default=None,
    help="the framework a Service builds its app on (default: the Service's own, else fastapi)",
)
_FACTORY = argument(
    "--factory",
    action="store_true",
    help="MODULE:ATTR is a function returning the target (called with "
    "framework=... when it takes it)",
)


def _target(args: argparse.Namespace) -> tuple[Any, str | None]:
    """The loaded target, and the framework still to choose (a factory already chose it)."""
    found = load_object(args.target)
    if args.factory:
        return call_factory(found, args.framework), None
    return found, args.framework


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not between 0 and 65535")
    return port


def run_command(args: argparse.Namespace) -> int:
    """``mic run``: serve the target with uvicorn until SIGINT/SIGTERM (graceful)."""
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("uvicorn", "cli") from None
    app = build_app(*_target(args))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        proxy_headers=args.proxy_headers,
        lifespan="on",
    )
    return 0


def routes_command(args: argparse.Namespace) -> int:
    """``mic routes``: the mic routes of the target, as a table or JSON."""
    rows = route_rows(*_target(args))
    if args.format == "json":
        data = [
            {
                "methods": list(r.methods),
                "path": r.path,
                "name": r.name,
                "security": list(r.security),
                "summary": r.summary,
            }
            for r in rows
        ]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    table = [("METHODS", "PATH", "NAME", "SECURITY", "SUMMARY")]
    table.extend(
        (",".join(r.methods), r.path, r.name, ",".join(r.security) or "-", r.summary) for r in rows
    )
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        sys.stdout.write("  ".join([*cells, row[4]]).rstrip() + "\n")
    return 0


def openapi_bytes(target: object, framework: str | None, args: argparse.Namespace) -> bytes:
    """The OpenAPI document of `target`, byte for byte as its app serves it.

    An app, or a Service's app, is asked for ``--path`` in process (so the bytes are
    exactly what it serves). Bare route specs, or a router, are described by
    `mic.http.build_openapi` with ``--title`` and ``--doc-version``.

    Raises:
        CliError: The app does not answer 200, or the target holds no routes.
    """
    if callable(getattr(target, "build_app", None)) or is_asgi_app(target):
        from mic.cli._asgi import asgi_get

        status, body = asyncio.run(asgi_get(build_app(target, framework), args.path))
        if status != 200:
            raise CliError(
                f"the app answered {status} to GET {args.path}; pass --path if it "
                "serves its OpenAPI document elsewhere"
            )
        return body
    from mic.http import build_openapi

    specs, prefix = route_specs(target), ""
    if specs is None:
        compiled = compiled_routes(target)
        if not compiled:
            raise CliError(
                f"no mic routes found in this {type(target).__name__}: expected {EXPECTED}"
            )
        specs = tuple(route.spec for route in compiled)
        first = compiled[0]
        prefix = first.path[: len(first.path) - len(first.spec.path)]
    import pydantic_core

    document = build_openapi(specs, title=args.title, version=args.doc_version, prefix=prefix)
    return pydantic_core.to_json(document)


def openapi_command(args: argparse.Namespace) -> int:
    """``mic openapi``: write the document to ``-o FILE`` or stdout."""
    target, framework = _target(args)
    _write(openapi_bytes(target, framework, args), args.output)
    return 0


def asyncapi_bytes(target: object) -> bytes:
    """The AsyncAPI document of `target`: an `EventCatalog`, an object holding one as
    ``catalog``, or a ready document; serialized by `mic.asyncapi.render_asyncapi`.

    Raises:
        CliError: `target` is none of those.
    """
    from mic.asyncapi import render_asyncapi
    from mic.eventbus import EventCatalog, build_event_asyncapi

    catalog = getattr(target, "catalog", target)
    if isinstance(catalog, EventCatalog):
        return render_asyncapi(build_event_asyncapi(catalog))
    if isinstance(target, Mapping) and "asyncapi" in target:
        return render_asyncapi(target)
    raise CliError(
        f"cannot export a {type(target).__name__}: expected an EventCatalog, an "
        "object with a catalog attribute, or an AsyncAPI document"
    )


def asyncapi_command(args: argparse.Namespace) -> int:
    """``mic asyncapi``: write the AsyncAPI document to ``-o FILE`` or stdout."""
    found = load_object(args.target)
    _write(asyncapi_bytes(call_factory(found, None) if args.factory else found), args.output)
    return 0


def _write(data: bytes, output: str | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        Path(output).write_bytes(data)
    except OSError as error:
        raise CliError(f"cannot write {output}: {error.strerror}") from None


def _read_document(path: str) -> Any:
    """The parsed document at `path`: YAML for ``.yaml``/``.yml`` files, JSON otherwise.

    Raises:
        CliError: The file cannot be read or parsed.
        MissingDependencyError: A YAML file without PyYAML (extra ``cli``).
    """
    try:
        text = Path(path).read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from None
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        yaml = require("yaml", "cli")
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise CliError(f"{path} is not a YAML document: {error}") from None
    try:
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CliError(f"{path} is not a JSON document: {error}") from None


def diff_command(args: argparse.Namespace) -> int:
    """``mic diff``: breaking changes from OLD to NEW; exit 1 when there is one."""
    from mic.diff import ContractDiffError, diff_documents

    try:
        report = diff_documents(_read_document(args.old), _read_document(args.new))
    except ContractDiffError as error:
        raise CliError(str(error)) from None
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(report.render_text())
    return EXIT_BREAKING if report.is_breaking else 0


def new_command(args: argparse.Namespace) -> int:
    """``mic new``: render the service template (cookiecutter)."""
    from mic.cli._new import render_template

    path = render_template(
        name=args.name,
        framework=args.framework or "fastapi",
        description=args.description,
        output_dir=Path(args.output_dir),
        overwrite=args.overwrite,
    )
    sys.stdout.write(f"created {path}\nnext: cd {path} && make bootstrap-dev && make gate\n")
    return 0


COMMANDS: Final = (
    CliCommandSpec(
        name="new",
        help="create a service from the mic-kit template",
        handler=new_command,
        arguments=(
            argument("name", help="the service name, e.g. orders-api"),
            argument(
                "--framework",
                choices=FRAMEWORKS,
                default=None,
                help="fastapi (default) or litestar",
            ),
            argument("--description", default=None, help="one line about the service"),
            argument("-o", "--output-dir", default=".", help="where to create it (default: .)"),
            argument("--overwrite", action="store_true", help="render into an existing directory"),
        ),
    ),
    CliCommandSpec(
        name="run",
        help="serve a Service or an ASGI app with uvicorn",
        handler=run_command,
        arguments=(
            _TARGET,
            _FRAMEWORK,
            _FACTORY,
            argument("--host", default="127.0.0.1", help="default: 127.0.0.1"),
            argument("--port", type=_port, default=8000, help="default: 8000"),
            argument(
                "--log-level",
                default="info",
                choices=("critical", "error", "warning", "info", "debug"),
            ),
            argument(
                "--proxy-headers",
                action="store_true",
                help="trust X-Forwarded-* from the proxy in front",
            ),
        ),
    ),
    CliCommandSpec(
        name="routes",
        help="list the mic routes of a target",
        handler=routes_command,
        arguments=(
            _TARGET,
            _FRAMEWORK,
            _FACTORY,
            argument("--format", choices=("text", "json"), default="text"),
        ),
    ),
    CliCommandSpec(
        name="openapi",
        help="write the OpenAPI document a target serves",
        handler=openapi_command,
        arguments=(
            _TARGET,
            _FRAMEWORK,
            _FACTORY,
            argument("-o", "--output", default=None, help="file to write (default: stdout)"),
            argument(
                "--path",
                default=DOCUMENT_PATH,
                help=f"where the app serves it (default: {DOCUMENT_PATH})",
            ),
            argument("--title", default="mic service", help="info.title, for bare route specs"),
            argument("--doc-version", default="0.1.0", help="info.version, for bare route specs"),
        ),
    ),
    CliCommandSpec(
        name="asyncapi",
        help="write the AsyncAPI document of an event catalog",
        handler=asyncapi_command,
        arguments=(
            argument(
                "target",
                metavar="MODULE:ATTR",
                help="an EventCatalog, an object with .catalog, or an AsyncAPI document",
            ),
            argument(
                "--factory",
                action="store_true",
                help="MODULE:ATTR is a function returning the target",
            ),
            argument("-o", "--output", default=None, help="file to write (default: stdout)"),
        ),
    ),
    CliCommandSpec(
        name="diff",
        help="report breaking changes between two contract documents",
        description="Compare two OpenAPI or two AsyncAPI documents (JSON, or YAML for .yaml "
        "and .yml files); exit 1 when a change breaks clients of OLD, 0 otherwise.",
        handler=diff_command,
        arguments=(
            argument("old", help="the contract clients use today"),
            argument("new", help="the contract you want to ship"),
            argument("--format", choices=("text", "json"), default="text"),
        ),
    ),
)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``mic`` console script and ``python -m mic``."""
    parser = build_parser(
        COMMANDS,
        prog="mic",
        version=__version__,
        description="mic-kit: scaffold, serve, inspect and compare services",
    )
    sys.exit(dispatch(parser, argv))

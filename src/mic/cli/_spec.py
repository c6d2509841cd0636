"""Operator command lines from specs: `CliCommandSpec`, `build_parser`, `dispatch` (stdlib only).

A command is data (name, help, arguments, handler); `build_parser` turns a tuple of them into
an `argparse` parser with subcommands, ``--version`` and ``-v``; `dispatch` parses, runs the
chosen handler (sync or async) and turns what happens into an exit status, the way operators
expect from Unix tools: Ctrl-C is 130, a closed pipe (``mic routes | head``) is success.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from mic._errors import MicError

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130  # 128 + SIGINT, what shells report for Ctrl-C

CliHandler = Callable[[argparse.Namespace], "Awaitable[int | None] | int | None"]
"""Runs a command: receives the parsed arguments, returns an exit status (``None`` is 0)."""

_HANDLER = "_mic_cli_handler"
_LEVELS: Final = (logging.WARNING, logging.INFO, logging.DEBUG)


class CliError(MicError):
    """A failure to report as one line on stderr (no traceback), with an exit status.

    Args:
        message: What went wrong and, where possible, how to fix it.
        exit_code: The process exit status (default 1).
    """

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class CliArgument:
    """One ``add_argument`` call: `flags` and `options` exactly as argparse takes them.

    Attributes:
        flags: ``("path",)`` for a positional, ``("-o", "--output")`` for an option.
        options: Keyword arguments of ``add_argument`` (``help``, ``default``, ``choices``...).

    Raises:
        ValueError: No flags, or a positional mixed with option strings.
    """

    flags: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.flags or not all(isinstance(flag, str) and flag for flag in self.flags):
            raise ValueError("an argument needs at least one non-empty name or flag")
        dashed = [flag.startswith("-") for flag in self.flags]
        if any(dashed) and not all(dashed):
            raise ValueError(f"argument {self.flags!r} mixes a positional name and flags")


def argument(*flags: str, **options: Any) -> CliArgument:
    """`CliArgument` in ``add_argument`` form: ``argument("-o", "--output", help="...")``."""
    return CliArgument(flags, options)


@dataclass(frozen=True, slots=True)
class CliCommandSpec:
    """One subcommand of an operator command line.

    Attributes:
        name: The word typed after the program (``migrate``); letters, digits and dashes.
        help: One line shown in the program's ``--help``.
        handler: Called with the parsed arguments; sync or async; returns the exit status.
        arguments: The command's arguments and options.
        description: The longer text of ``<prog> <name> --help`` (default: `help`).
        aliases: Other names for the command.

    Raises:
        ValueError: An empty or malformed name or help.
        TypeError: `handler` is not callable.
    """

    name: str
    help: str
    handler: CliHandler
    arguments: tuple[CliArgument, ...] = ()
    description: str | None = None
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (self.name, *self.aliases):
            if not name or not name.replace("-", "").isalnum() or name.startswith("-"):
                raise ValueError(f"command name {name!r} must be letters, digits and dashes")
        if not self.help.strip():
            raise ValueError(f"command {self.name!r} needs a help line")
        if not callable(self.handler):
            raise TypeError(f"the handler of command {self.name!r} is not callable")


def build_parser(
    commands: Sequence[CliCommandSpec],
    *,
    prog: str | None = None,
    version: str | None = None,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """An argparse parser: one subcommand per spec, plus ``--version`` and ``-v``.

    ``-v`` may be repeated (``-vv``): `dispatch` maps it to the log level (WARNING, INFO,
    DEBUG); the count is ``args.verbose``. A subcommand is required.

    Raises:
        ValueError: No commands, or two commands (or aliases) with the same name.
    """
    if not commands:
        raise ValueError("build_parser needs at least one command")
    names = [name for command in commands for name in (command.name, *command.aliases)]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise ValueError(f"command names must be unique: {', '.join(duplicates)}")
    parser = argparse.ArgumentParser(prog=prog, description=description)
    if version is not None:
        parser.add_argument("--version", action="version", version=f"%(prog)s {version}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    subparsers.required = True
    for command in commands:
        sub = subparsers.add_parser(
            command.name,
            help=command.help,
            aliases=list(command.aliases),
            description=command.description or command.help,
        )
        for spec in command.arguments:
            sub.add_argument(*spec.flags, **dict(spec.options))
        sub.set_defaults(**{_HANDLER: command.handler})
    return parser


def dispatch(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default ``sys.argv[1:]``), run the chosen command, return the exit status.

    - A usage error is 2 (argparse prints it); ``--help`` and ``--version`` are 0.
    - A `CliError` prints ``<prog>: error: <message>`` on stderr and returns its status.
    - Ctrl-C (`KeyboardInterrupt`) returns 130.
    - A closed stdout (`BrokenPipeError`, ``mic routes | head -1``) returns 0, quietly.

    Any other exception propagates with its traceback: it is a bug, not an operator error.
    """
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return _status(exit_.code)
    logging.basicConfig(level=_LEVELS[min(int(getattr(args, "verbose", 0) or 0), 2)])
    handler: CliHandler = getattr(args, _HANDLER)
    try:
        outcome = handler(args)
        if inspect.isawaitable(outcome):
            outcome = asyncio.run(_awaited(outcome))
        sys.stdout.flush()
    except CliError as error:
        sys.stderr.write(f"{parser.prog}: error: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("\n")  # end the ``^C`` line
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    return EXIT_OK if outcome is None else int(outcome)


async def _awaited(outcome: Awaitable[int | None]) -> int | None:
    return await outcome


def _status(code: object) -> int:
    if code is None:
        return EXIT_OK
    return code if isinstance(code, int) else EXIT_FAILURE


def _silence_stdout() -> None:
    # The reader is gone: point stdout at /dev/null so the interpreter's final flush does
    # not raise a second BrokenPipeError (Python docs, "Note on SIGPIPE").
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (captured in tests)
        pass
    finally:
        os.close(devnull)

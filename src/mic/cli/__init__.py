"""Operator command lines (standard library only), and the ``mic`` command built with them.

`CliCommandSpec` describes a subcommand, `build_parser` makes an argparse parser of them
(with ``--version`` and ``-v``), and `dispatch` runs one, mapping Ctrl-C to exit 130 and a
closed pipe to 0. The ``mic`` command itself lives in ``mic.cli._main`` (extra ``cli``);
see docs/cli.md.
"""

from mic.cli._spec import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CliArgument,
    CliCommandSpec,
    CliError,
    CliHandler,
    argument,
    build_parser,
    dispatch,
)

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliArgument",
    "CliCommandSpec",
    "CliError",
    "CliHandler",
    "argument",
    "build_parser",
    "dispatch",
]

"""`mic.cli`: command specs, the parser they build, and how `dispatch` exits."""

from __future__ import annotations

import argparse
import io
import logging
import subprocess
import sys
import textwrap

import pytest

from mic.cli import (
    EXIT_INTERRUPTED,
    CliArgument,
    CliCommandSpec,
    CliError,
    argument,
    build_parser,
    dispatch,
)


def greet(args: argparse.Namespace) -> int:
    sys.stdout.write(f"hello {args.who}{'!' if args.loud else ''}\n")
    return 0


async def count(args: argparse.Namespace) -> int:
    return args.n


def nothing(args: argparse.Namespace) -> None:
    return None


COMMANDS = (
    CliCommandSpec(
        "greet",
        "say hello",
        greet,
        (argument("who"), argument("--loud", action="store_true")),
        aliases=("hi",),
    ),
    CliCommandSpec("count", "exit with n", count, (argument("n", type=int),)),
    CliCommandSpec("nothing", "return None", nothing),
)


def parser() -> argparse.ArgumentParser:
    return build_parser(COMMANDS, prog="ops", version="1.2.3", description="operator tools")


def test_a_sync_command_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == dispatch(parser(), ["greet", "ada", "--loud"])
    assert "hello ada!\n" == capsys.readouterr().out


def test_an_alias_runs_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == dispatch(parser(), ["hi", "bob"])
    assert "hello bob\n" == capsys.readouterr().out


def test_an_async_command_returns_its_status() -> None:
    assert 7 == dispatch(parser(), ["count", "7"])


def test_none_is_success() -> None:
    assert 0 == dispatch(parser(), ["nothing"])


def test_version_prints_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == dispatch(parser(), ["--version"])
    assert "ops 1.2.3\n" == capsys.readouterr().out


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == dispatch(parser(), ["--help"])
    out = capsys.readouterr().out
    assert "greet" in out
    assert "say hello" in out
    assert "-v, --verbose" in out


@pytest.mark.parametrize("argv", [[], ["nope"], ["count", "x"], ["greet"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == dispatch(parser(), argv)
    assert "usage: ops" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "level"),
    [
        ([], logging.WARNING),
        (["-v"], logging.INFO),
        (["-vv"], logging.DEBUG),
        (["-vvv"], logging.DEBUG),
    ],
)
def test_verbosity_sets_the_log_level(flags: list[str], level: int) -> None:
    seen: list[int] = []

    def probe(args: argparse.Namespace) -> int:
        seen.append(args.verbose)
        return 0

    root = logging.getLogger()
    saved_level, saved_handlers = root.level, root.handlers[:]
    root.handlers = []
    try:
        dispatch(build_parser([CliCommandSpec("probe", "p", probe)]), [*flags, "probe"])
        assert level == root.level
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
    assert [len(flags[0]) - 1 if flags else 0] == seen


def test_a_cli_error_is_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    def fail(args: argparse.Namespace) -> int:
        raise CliError("the database is not reachable", exit_code=3)

    assert 3 == dispatch(build_parser([CliCommandSpec("go", "g", fail)], prog="ops"), ["go"])
    assert "ops: error: the database is not reachable\n" == capsys.readouterr().err


def test_ctrl_c_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    assert EXIT_INTERRUPTED == dispatch(
        build_parser([CliCommandSpec("go", "g", interrupted)]), ["go"]
    )


def test_ctrl_c_in_an_async_command_exits_130() -> None:
    async def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    assert 130 == dispatch(build_parser([CliCommandSpec("go", "g", interrupted)]), ["go"])


def test_a_broken_pipe_exits_0() -> None:
    def closed(args: argparse.Namespace) -> int:
        raise BrokenPipeError

    assert 0 == dispatch(build_parser([CliCommandSpec("go", "g", closed)]), ["go"])


def test_other_exceptions_propagate() -> None:
    def bug(args: argparse.Namespace) -> int:
        raise ZeroDivisionError("bug")

    with pytest.raises(ZeroDivisionError, match="bug"):
        dispatch(build_parser([CliCommandSpec("go", "g", bug)]), ["go"])


def test_a_reader_closing_the_pipe_ends_quietly_with_0() -> None:
    """``ops lines | head -1``: the writer sees EPIPE; no traceback, status 0."""
    script = textwrap.dedent("""
        import sys
        from mic.cli import CliCommandSpec, build_parser, dispatch
        def lines(args):
            for n in range(200000):
                sys.stdout.write(f"line {n}\\n")
        sys.exit(dispatch(build_parser([CliCommandSpec("lines", "many lines", lines)]), ["lines"]))
    """)
    writer = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert writer.stdout is not None
    assert b"line 0\n" == writer.stdout.readline()
    writer.stdout.close()
    assert 0 == writer.wait(timeout=60)
    assert writer.stderr is not None
    assert b"" == writer.stderr.read()
    writer.stderr.close()


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: CliArgument(()), ValueError, "at least one"),
        (lambda: CliArgument(("",)), ValueError, "at least one"),
        (lambda: CliArgument(("name", "--name")), ValueError, "mixes a positional"),
        (lambda: CliCommandSpec("", "h", greet), ValueError, "letters, digits and dashes"),
        (lambda: CliCommandSpec("-x", "h", greet), ValueError, "letters, digits and dashes"),
        (lambda: CliCommandSpec("a b", "h", greet), ValueError, "letters, digits and dashes"),
        (lambda: CliCommandSpec("ok", "h", greet, aliases=("b@d",)), ValueError, "letters"),
        (lambda: CliCommandSpec("ok", " ", greet), ValueError, "needs a help line"),
        (lambda: CliCommandSpec("ok", "h", "greet"), TypeError, "not callable"),  # type: ignore[arg-type]
        (lambda: build_parser([]), ValueError, "at least one command"),
        (
            lambda: build_parser([COMMANDS[0], CliCommandSpec("hi", "h", greet)]),
            ValueError,
            "unique: hi",
        ),
    ],
)
def test_bad_specs_are_refused(make: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()  # type: ignore[operator]


def test_the_description_defaults_to_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    dispatch(parser(), ["count", "--help"])
    assert "exit with n" in capsys.readouterr().out


def test_a_non_int_exit_code_is_failure() -> None:
    def exits(args: argparse.Namespace) -> int:
        raise SystemExit("message")

    p = build_parser([CliCommandSpec("go", "g", exits)])
    with pytest.raises(SystemExit, match="message"):
        dispatch(p, ["go"])
    p.exit = lambda status=0, message=None: (_ for _ in ()).throw(SystemExit("text"))  # type: ignore[method-assign,assignment]
    assert 1 == dispatch(p, ["nope"])


def test_silencing_stdout_tolerates_a_captured_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    from mic.cli._spec import _silence_stdout

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    _silence_stdout()

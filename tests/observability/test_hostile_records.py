"""Log records that used to raise into the caller, break the JSON line, or leak a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from mic import context as mic_context
from mic.http import (
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
)
from mic.http._context import ClientDisconnectedError
from mic.observability import CorrelationIdInterceptor, RedactingLogFilter, configure_logging
from mic.redaction import REDACTED

SECRET = "hunter2-SECRET"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    target = logging.getLogger("tests.observability.hostile")
    output = io.StringIO()
    configure_logging("json", stream=output, logger=target)
    yield output
    for handler in list(target.handlers):
        target.removeHandler(handler)


def _log() -> logging.Logger:
    return logging.getLogger("tests.observability.hostile")


def _strict(line: str) -> dict[str, Any]:
    """RFC 8259 JSON: no NaN or Infinity, and writable as UTF-8."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    line.encode("utf-8")
    document: dict[str, Any] = json.loads(line, parse_constant=refuse)
    return document


def _lines(output: io.StringIO) -> list[dict[str, Any]]:
    return [_strict(line) for line in output.getvalue().splitlines()]


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_every_line_is_strict_json(stream: io.StringIO) -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    _log().info(
        "surrogate \udcff",
        extra={
            "nan": float("nan"),
            "inf": [float("inf"), float("-inf")],
            "keys": {(1, 2): 3},
            "lone": "\ud800",
            "cycle": cycle,
            "odd": _Unprintable(),
        },
    )
    (line,) = _lines(stream)
    assert (line["nan"], line["inf"], line["keys"]) == (
        "NaN",
        ["Infinity", "-Infinity"],
        {"(1, 2)": 3},
    )
    assert (line["lone"], line["message"]) == ("\ud800", "surrogate \udcff")
    assert (line["cycle"], line["odd"]) == (REDACTED, REDACTED)


def test_formatter_alone_writes_cycles_and_unprintables() -> None:
    """Without the redacting filter the formatter still answers strict JSON."""
    from mic.observability import JsonLogFormatter

    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.__dict__.update({"cycle": cycle, "odd": {"k": _Unprintable()}, "n": float("nan")})
    line = _strict(JsonLogFormatter().format(record))
    assert line["cycle"] == {"self": "[cycle]"}
    assert line["odd"] == {"k": "<unprintable _Unprintable>"}
    assert line["n"] == "NaN"


def test_a_record_that_cannot_be_redacted_is_emitted_without_caller_data(
    stream: io.StringIO,
) -> None:
    """The filter used to raise into `logger.error` (a bogus exc_info here)."""
    token = mic_context.correlation_id.set("req-9")
    try:
        _log().error("password=%s", SECRET, exc_info=(1, 2, 3), extra={"note": SECRET})  # type: ignore[arg-type]
    finally:
        mic_context.correlation_id.reset(token)
    (line,) = _lines(stream)
    assert SECRET not in json.dumps(line)
    assert line["message"].startswith(REDACTED)
    assert (line["note"], line["exception"], line["correlation_id"]) == (
        REDACTED,
        REDACTED,
        "req-9",
    )


def test_header_pairs_and_chained_exceptions_never_leak(stream: io.StringIO) -> None:
    headers = [("Authorization", SECRET), (b"cookie", SECRET.encode()), ("accept", "x")]
    _log().info("headers %s", headers, extra={"headers": headers})
    _log().info(f"headers {headers}")
    try:
        try:
            raise KeyError({"api_key": SECRET})
        except KeyError as cause:
            raise RuntimeError(f"connect to postgresql://app:{SECRET}@db/x") from cause
    except RuntimeError:
        _log().exception("failed")
    output = stream.getvalue()
    assert SECRET not in output
    assert len(_lines(stream)) == 3
    assert "The above exception was the direct cause" in output


def test_the_filter_never_raises_for_a_broken_mapping_argument() -> None:
    class Broken(dict[str, Any]):
        def items(self) -> Any:
            raise RuntimeError("no items")

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%(a)s", (Broken(a=1),), None)
    assert RedactingLogFilter().filter(record)
    assert record.getMessage().startswith(REDACTED)


def _context() -> HttpRequestContext:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/x",
        "query_string": b"",
        "headers": [(b"x-request-id", b"abc-1")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    return HttpRequestContext.from_asgi(scope, receive, route_name="x", route_path="/x")


@pytest.mark.parametrize("error", [RuntimeError("boom"), ClientDisconnectedError("gone")])
async def test_context_is_reset_when_the_rest_of_the_pipeline_raises(error: Exception) -> None:
    async def handler() -> None:
        return None

    route = HttpRouteSpec(method="GET", path="/x", name="x", category="x", handler=handler)
    correlate = CorrelationIdInterceptor().bind(route, HttpRouterConfig())
    seen: list[str | None] = []

    async def failing(context: HttpRequestContext) -> HttpResponse:
        seen.append(mic_context.correlation_id.get())
        raise error

    with pytest.raises(type(error), match=r"boom|gone"):
        await correlate(_context(), failing)
    assert seen == ["abc-1"]
    assert mic_context.correlation_id.get() is None
    assert mic_context.route.get() is None
    assert mic_context.traceparent.get() is None


def test_a_format_that_does_not_fit_its_arguments_keeps_them_redacted(
    stream: io.StringIO,
) -> None:
    """Redacting `%40x` out of a URL password made the format fit the raw arguments."""
    _log().info("got %s: redis://:pw%40x:y@cache/0", f"Bearer {SECRET}")
    _log().info("%s %s", f"token={SECRET}")
    output = stream.getvalue()
    assert SECRET not in output
    first, second = _lines(stream)
    assert (
        first["message"]
        == "got %s: redis://:[REDACTED]@cache/0 (arguments: ('Bearer [REDACTED]',))"
    )
    assert second["message"] == "%s %s (arguments: ('token=[REDACTED]',))"

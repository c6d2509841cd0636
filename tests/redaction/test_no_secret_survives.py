"""Property: a secret planted anywhere never reaches a log line, an exported span or an event.

Every generated secret starts with ``ZQ``, which nothing else generated can contain (filler
text is lower-case, hashes are hex), so any ``ZQ`` in the output is a leak.
"""

from __future__ import annotations

import io
import logging
import string
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from mic.observability import JsonLogFormatter, RedactingLogFilter, RedactingSpanProcessor
from mic.outbox import TopicRedactionPolicy, redact_drop, redact_hash, sanitize_payload

MARK = "ZQ"
REDACTORS = {"email": redact_hash, "otp_code": redact_drop, "db.statement": redact_drop}
secrets_ = st.text(string.ascii_letters + string.digits, min_size=4, max_size=12).map(
    lambda s: MARK + s
)
filler = st.text("abcdefghijklmnop0123456789 .,-:=_/", max_size=12)
sensitive_names = st.sampled_from(
    [
        "password",
        "Password",
        "access_token",
        "accessToken",
        "Access-Token",
        "API_KEY",
        "client.secret",
        "otp-code",
        "OTPCode",
        "email",
        "E_Mail",
        "authorization",
        "user.password",
    ]
)
safe_names = st.sampled_from(["id", "name", "note", "items", "meta", "url", "count"])


def _forms(secret: str, other: str) -> list[str]:
    return [
        f"Bearer {secret}",
        f"bearer {secret}",
        f"token={secret}",
        f"password: {secret}",
        f'"api_key": "{secret}"',
        f"eyJ{secret}.eyJ{other}.{secret}",
        f"postgres://app:{secret}@{other}@db.example:5432/x",
        f"https://user:{secret}@host/path?q=1",
        f"eyJ{other}.{secret}",
        f"Authorization: Token {secret}",
        f"redis://:{secret}%40x:y@cache:6379/0",
    ]


@st.composite
def planted_text(draw: st.DrawFn) -> str:
    form = draw(st.sampled_from(range(11)))
    text = _forms(draw(secrets_), draw(secrets_))[form]
    return f"{draw(filler)} {text} {draw(filler)}"


@dataclass
class Envelope:
    data: Any
    password: str


def _children(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    plain = st.dictionaries(safe_names, children, max_size=3)
    with_secret = st.builds(
        lambda rest, name, secret: {**rest, name: secret}, plain, sensitive_names, secrets_
    )
    return st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        plain,
        with_secret,
        st.builds(Envelope, children, secrets_),
        # A header pair, as in ASGI scopes and httpx: (name, value), str or bytes.
        st.tuples(sensitive_names, secrets_),
        st.builds(lambda name, secret: [name.encode(), secret.encode()], sensitive_names, secrets_),
        st.builds(lambda text: text.encode(), planted_text()),
    )


structures = st.recursive(
    st.one_of(filler, st.integers(), st.none(), planted_text()), _children, max_leaves=12
)


def _log_output(structure: Any, text: str, secret: str) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(RedactingLogFilter(redactors=REDACTORS))
    logger = logging.Logger("property")
    logger.addHandler(handler)
    logger.info(
        "got %s and %r: " + text,
        structure,
        structure,
        extra={"payload": structure, "password": secret, "note": text},
    )
    try:
        try:
            raise KeyError(structure)
        except KeyError as cause:
            raise ValueError(text) from cause
    except ValueError:
        logger.exception("failed with %s", text)
    try:
        try:
            raise RuntimeError(text)
        except RuntimeError:
            raise LookupError(structure)  # noqa: B904 - implicit chaining (__context__) on purpose
    except LookupError:
        logger.exception("failed again")
    logger.info(f"interpolated by the caller: {structure!r} {structure}")
    return stream.getvalue()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(structure=structures, text=planted_text(), secret=secrets_)
def test_no_secret_in_log_lines(structure: Any, text: str, secret: str) -> None:
    output = _log_output(structure, text, secret)
    assert MARK not in output


@settings(max_examples=150, deadline=None)
@given(
    attributes=st.dictionaries(safe_names, planted_text(), max_size=3),
    secret_attributes=st.dictionaries(sensitive_names, secrets_, max_size=3),
    name=planted_text(),
    event_text=planted_text(),
    secret=secrets_,
)
def test_no_secret_in_exported_spans(
    attributes: dict[str, str],
    secret_attributes: dict[str, str],
    name: str,
    event_text: str,
    secret: str,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(
        RedactingSpanProcessor(SimpleSpanProcessor(exporter), redactors=REDACTORS)
    )
    tracer = provider.get_tracer("property")
    with tracer.start_as_current_span(name, attributes=attributes) as span:
        span.set_attributes(secret_attributes)
        span.set_attribute("db.statement", f"SELECT '{secret}'")
        span.set_attribute("list", [event_text, "ok"])
        span.add_event("event", {"detail": event_text, "password": secret})
        span.record_exception(ValueError(event_text))
        span.set_status(Status(StatusCode.ERROR, event_text))
    provider.shutdown()
    (exported,) = exporter.get_finished_spans()
    assert MARK not in exported.to_json()


@settings(max_examples=150, deadline=None)
@given(structure=structures, topic=st.sampled_from(["a", "b", None]))
def test_no_secret_in_event_payloads(structure: Any, topic: str | None) -> None:
    policy = TopicRedactionPolicy(default=REDACTORS, per_topic={"a": {"note": redact_drop}})
    safe = sanitize_payload({"data": structure}, policy=policy, topic=topic)
    assert MARK not in repr(safe)

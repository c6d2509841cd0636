"""Secrets found by what they look like, in free text: bearer tokens, JWTs, URL passwords.

One compiled pattern per policy scans a string once. Besides the fixed shapes, it knows the
policy's sensitive field names, so ``password=...``, ``accessToken: ...`` and
``"api_key": "..."`` written into a log message are redacted like fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

# Alternatives are tried in order at each position; each has its own named group.
# - url: `scheme://user:password@` (RFC 3986 section 3.2.1). The password runs greedily to the
#   LAST `@` before the path, so passwords containing a raw `@` (common, though the RFC wants
#   it percent-encoded) are redacted whole.
# - auth: `Bearer <token>` (RFC 6750 section 2.1) and `Basic <credentials>` (RFC 7617).
# - jwt: compact JWS/JWE (RFC 7515 section 7.1): a base64url JSON header starts with `eyJ`.
#   Two segments are enough (`payload.signature` of a token split across fields).
# - key/value: a sensitive name, then `=` or `:` (or `,` between quoted items: the repr of
#   a header pair), then a quoted value, a bare value, or an authentication scheme and its
#   bare credentials (`Token abc`); also inside escaped JSON. Only sensitive names match,
#   so a value never swallows the next key. A quoted value whose closing quote is missing
#   (a truncated line) runs to the end of the text.
# Linear time: every alternative that starts with a repeated class (a URL scheme, a dotted
# key, a JWT) refuses to start inside a run of that class (negative lookbehind), so a long
# run of letters or `a.a.a...` is tried once, not once per position (issue 6 review: 40 kB
# of `a.a.a...=` took 43 s to scan before).
_SCHEME: Final = r"(?:[Bb]earer|BEARER|Basic)[ \t]+"
_FIXED: Final = (
    r"(?<![A-Za-z0-9+.\-])(?P<url>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#@]*:)[^\s/?#]*@"
    rf"|(?P<auth>\b{_SCHEME})[A-Za-z0-9\-._~+/]+=*"
    r"|(?<![A-Za-z0-9_\-])(?P<jwt>eyJ[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]*){1,4})"
)
_BARE: Final = r"[^\s,;&\"'}\])]+"
_VALUE: Final = (
    rf"(?P<value>\[REDACTED\]|(?:[Bb]earer|BEARER|[A-Z][A-Za-z0-9\-]*)[ \t]+{_BARE}"
    r"|b?\"(?:[^\"\\]|\\.)*\"?|\\\"(?:(?!\\\").)*(?:\\\")?|b?'(?:[^'\\]|\\.)*'?"
    rf"|{_BARE})"
)
_SEPARATOR: Final = r"[-_. ]?"


def _name_pattern(normalized: str) -> str:
    # `accesstoken` also matches `accessToken`, `access_token`, `Access-Token`...
    return _SEPARATOR.join(re.escape(char) for char in normalized)


def build_text_pattern(field_names: Iterable[str]) -> re.Pattern[str]:
    """The scanning pattern for a policy whose normalized sensitive names are `field_names`."""
    names = sorted(set(field_names), key=len, reverse=True)
    if not names:
        return re.compile(_FIXED)
    alternatives = "|".join(map(_name_pattern, names))
    key = (
        r"(?P<key>(?:\\?[\"'])?(?<![A-Za-z0-9_.\-])(?:[A-Za-z0-9_\-]+\.)*"
        rf"(?P<name>(?i:{alternatives}))(?![A-Za-z0-9])"
        r"(?:(?:\\?[\"'])?[ \t]*[:=][ \t]*|\\?[\"'][ \t]*,[ \t]*(?=b?\\?[\"'])))"
    )
    return re.compile(f"{_FIXED}|{key}{_VALUE}")


def may_hold_secret(text: str) -> bool:
    """Cheap pre-check: ``False`` means no scanning pattern can match `text`.

    Every alternative of the scanning pattern needs one of these substrings: ``:`` (URL
    credentials), ``:`` or ``=`` (``key=value``), ``',`` or ``",`` (a quoted header pair,
    ``('authorization', '...')``), ``eyJ`` (JWT), ``earer``/``EARER`` (Bearer), ``Basic``.
    Most log strings hold none of them, and these substring searches (C loops over the
    text) cost less than one regular-expression search, which has no literal prefix to
    skip ahead with and so tries every position.
    """
    return (
        ":" in text
        or "=" in text
        or "eyJ" in text
        or "earer" in text
        or "EARER" in text
        or "Basic" in text
        or "'," in text
        or '",' in text
    )


def split_quotes(value: str) -> tuple[str, str, str]:
    """Split a matched value into (opening quote, content, closing quote).

    The opening quote may carry a bytes prefix (``b'...'``); a value whose closing quote is
    missing (a truncated line) gives an empty closing quote.
    """
    for quote in ('\\"', '"', "'", "b'", 'b"'):
        if value.startswith(quote):
            closing = quote.removeprefix("b")
            rest = value[len(quote) :]
            if rest.endswith(closing):
                return quote, rest[: -len(closing)], closing
            return quote, rest, ""
    return "", value, ""


def scrub_text(text: str, pattern: re.Pattern[str], on_field: Callable[[str, str], str]) -> str:
    """Redact secrets in `text`.

    Args:
        text: Free text (a log message, an exception, a span attribute).
        pattern: From `build_text_pattern`.
        on_field: Called with (field name, raw value) for each sensitive ``key=value``
            pair; returns the replacement value.

    Returns:
        `text` itself when nothing was found, else a redacted copy.
    """
    if not may_hold_secret(text):
        return text

    def replace(match: re.Match[str]) -> str:
        if match["url"] is not None:
            return match["url"] + "[REDACTED]@"
        if match["auth"] is not None:
            return match["auth"] + "[REDACTED]"
        if match["jwt"] is not None:
            return "[REDACTED]"
        return match["key"] + on_field(match["name"], match["value"])

    return pattern.sub(replace, text)

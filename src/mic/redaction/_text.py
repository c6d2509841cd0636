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
# - key/value: a sensitive name, then `=` or `:`, then a quoted or bare value; also inside
#   escaped JSON. Only sensitive names match, so a value never swallows the next key.
_SCHEME: Final = r"(?:[Bb]earer|BEARER|Basic)[ \t]+"
_FIXED: Final = (
    r"(?P<url>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#@]*:)[^\s/?#]*@"
    rf"|(?P<auth>\b{_SCHEME})[A-Za-z0-9\-._~+/]+=*"
    r"|(?P<jwt>eyJ[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]*){2,4})"
)
_VALUE: Final = (
    rf"(?P<value>\[REDACTED\]|(?:{_SCHEME})?"
    r"(?:\"(?:[^\"\\]|\\.)*\"|\\\"(?:(?!\\\").)*\\\"|'(?:[^'\\]|\\.)*'|[^\s,;&\"'}\])]+))"
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
        r"(?P<key>(?:\\?[\"'])?(?<![A-Za-z0-9_\-])(?:[A-Za-z0-9_\-]+\.)*"
        rf"(?P<name>(?i:{alternatives}))(?![A-Za-z0-9])(?:\\?[\"'])?[ \t]*[:=][ \t]*)"
    )
    return re.compile(f"{_FIXED}|{key}{_VALUE}")


def may_hold_secret(text: str) -> bool:
    """Cheap pre-check: ``False`` means no scanning pattern can match `text`.

    Every alternative of the scanning pattern needs one of these substrings: ``:`` (URL
    credentials), ``:`` or ``=`` (``key=value``), ``eyJ`` (JWT), ``earer``/``EARER``
    (Bearer), ``Basic``. Most log strings hold none of them, and six substring searches
    (C loops over the text) cost less than one regular-expression search, which has no
    literal prefix to skip ahead with and so tries every position.
    """
    return (
        ":" in text
        or "=" in text
        or "eyJ" in text
        or "earer" in text
        or "EARER" in text
        or "Basic" in text
    )


def split_quotes(value: str) -> tuple[str, str, str]:
    """Split a matched value into (opening quote, content, closing quote)."""
    for quote in ('\\"', '"', "'"):
        if len(value) >= 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
            return quote, value[len(quote) : -len(quote)], quote
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

"""Redaction strategies: what replaces a sensitive value (drop, mask, keyed hash, custom).

A strategy is any ``Callable[[Any], Any]``. `redact_drop` returns the `DROP` marker, which
the policy turns into "remove this field" (or a fixed placeholder where removal is impossible).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any, Final

Redactor = Callable[[Any], Any]
"""A redaction strategy: takes the sensitive value, returns what may be emitted instead."""

FieldRedactors = dict[str, Redactor]
"""Field name to strategy; names match case- and separator-insensitively."""

REDACTED: Final = "[REDACTED]"
"""Placeholder for a value that is removed where the field itself cannot be removed."""

MASK: Final = "****"
"""What `redact_mask` answers: a fixed width, so the length of the secret does not leak."""

HASH_KEY_ENV: Final = "MIC_REDACTION_HASH_KEY"
"""Environment variable holding the shared key of `redact_hash` (at least 16 bytes)."""

MIN_KEY_BYTES: Final = 16
_HASH_PREFIX: Final = "hmac:"
_DIGEST_BYTES: Final = 16
_HASH_OUTPUT: Final = re.compile(r"hmac:[0-9a-f]{32}")


class _Drop:
    """The marker `redact_drop` returns: the field is removed from the output."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DROP"

    def __reduce__(self) -> str:
        return "DROP"


DROP: Final = _Drop()
"""Returned by a strategy to remove the field from the output altogether."""


def is_redacted_output(text: str) -> bool:
    """Whether `text` is what a built-in strategy answers (so redacting it again is moot)."""
    return text == REDACTED or text.startswith(MASK) or _HASH_OUTPUT.fullmatch(text) is not None


def redact_drop(value: Any) -> _Drop:
    """Remove the field (secrets: passwords, tokens, OTP codes).

    Args:
        value: The sensitive value; ignored.

    Returns:
        The `DROP` marker. Where a field cannot be removed (a span attribute already set, a
        ``key=value`` inside free text), `REDACTED` is written instead.
    """
    del value
    return DROP


def redact_mask(value: Any) -> str:
    """Replace the value with a fixed-width mask (`MASK`): its length does not leak."""
    del value
    return MASK


def partial_mask(keep_last: int = 4) -> Redactor:
    """A strategy that keeps the last `keep_last` characters (``****1234``).

    The tail is shown only when the value is at least three times longer than the tail,
    so a short secret is never mostly revealed.

    Raises:
        ValueError: `keep_last` is not positive.
    """
    if keep_last < 1:
        raise ValueError("keep_last must be >= 1")

    def mask(value: Any) -> str:
        text = str(value)
        if len(text) < 3 * keep_last:
            return MASK
        return MASK + text[-keep_last:]

    return mask


_BLOCK: Final = 64  # SHA-256 block size, in bytes
_INNER_PAD: Final = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD: Final = bytes(byte ^ 0x5C for byte in range(256))


class _HmacSha256:
    """HMAC-SHA256 (RFC 2104) of a value under one key, answered as ``hmac:<32 hex>``.

    The key's inner and outer hash states are computed once; each value then costs two state
    copies and two short updates. This is the construction `hmac` itself uses; the output is
    identical to ``hmac.digest(key, data, "sha256")`` (a property test checks it) at about
    half the cost per call, which keeps log redaction cheap (issue 6's benchmark).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_INNER_PAD))
        self._outer = hashlib.sha256(key.translate(_OUTER_PAD))

    def __call__(self, value: Any) -> str:
        if type(value) is str:
            data = value.encode("utf-8", "surrogatepass")
        elif isinstance(value, bytes):
            data = value
        else:
            data = str(value).encode("utf-8", "surrogatepass")
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return _HASH_PREFIX + outer.digest()[:_DIGEST_BYTES].hex()


def _check_key(key: bytes | str) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise ValueError(f"a redaction hash key needs at least {MIN_KEY_BYTES} bytes")
    return raw


def keyed_hash(key: bytes | str) -> Redactor:
    """A strategy answering ``hmac:<32 hex>``: HMAC-SHA256 of the value under `key`, truncated.

    The same value under the same key always gives the same output, so events and log lines
    about one customer can be correlated; without the key, guessing the input (an e-mail, a
    phone number) from the output is not possible. Non-bytes values are hashed as ``str``.

    Raises:
        ValueError: The key is shorter than 16 bytes.
    """
    return _HmacSha256(_check_key(key))


_default_key: bytes | None = None
_default_hmac: _HmacSha256 | None = None
_default_key_lock = threading.Lock()


def default_hash_key() -> bytes:
    """The key `redact_hash` uses: `HASH_KEY_ENV` when set, else random for this process.

    Read once, on first use. Set the variable to the same secret on every replica to make
    hashes correlate across processes; without it they correlate within one process only.

    Raises:
        ValueError: The variable is set but shorter than 16 bytes.
    """
    global _default_key  # noqa: PLW0603 - one lazily read key per process, by design (ADR 0041)
    if _default_key is None:
        with _default_key_lock:
            if _default_key is None:
                configured = os.environ.get(HASH_KEY_ENV)
                _default_key = _check_key(configured) if configured else secrets.token_bytes(32)
    return _default_key


def reset_default_hash_key() -> None:
    """Forget the cached default key, so the next `redact_hash` reads `HASH_KEY_ENV` again."""
    global _default_key, _default_hmac  # noqa: PLW0603 - see default_hash_key
    with _default_key_lock:
        _default_key = None
        _default_hmac = None


def redact_hash(value: Any) -> str:
    """Replace the value with its keyed hash under the default key (see `default_hash_key`).

    Use for identifiers you must correlate but not reveal (e-mail, user id). For a key you
    manage, build the strategy with `keyed_hash`.
    """
    global _default_hmac  # noqa: PLW0603 - built once from the lazily read key (ADR 0041)
    if _default_hmac is None:
        _default_hmac = _HmacSha256(default_hash_key())
    return _default_hmac(value)

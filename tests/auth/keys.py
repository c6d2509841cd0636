"""Keys generated once per test session (RSA generation is slow)."""

from __future__ import annotations

import functools

from mic.auth import ServiceKey


@functools.cache
def key(algorithm: str, kid: str = "k1") -> ServiceKey:
    """A cached key pair (or secret) for `algorithm`."""
    return ServiceKey.generate(kid, algorithm)

"""`SecurityHeaders`: the response headers every browser-facing answer should carry.

A router-level policy (``HttpRouterConfig(interceptors=(SecurityHeaders(), ...))``): the
header block is rendered once when the policy is built and appended to every answer that
does not already set the same header (a route may deliberately relax its own CSP).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mic.http._interceptors import Interceptor, RouteInterceptor
from mic.http._render import HttpResponse
from mic.http._specs import HttpRouteSpec

# RFC 9110 section 5.6.2 token, for header names.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

if TYPE_CHECKING:
    from mic.http._context import HttpRequestContext
    from mic.http._interceptors import Endpoint, HttpRouterConfig

_REFERRER_POLICIES = frozenset(
    {
        "no-referrer",
        "no-referrer-when-downgrade",
        "origin",
        "origin-when-cross-origin",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
    }
)


def check_header(name: str, value: str) -> None:
    """Refuse a header a policy could not send safely (bad name, line break, not latin-1).

    Raises:
        ValueError: The name is not a token, or the value holds CR, LF, NUL or non-latin-1.
    """
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise ValueError(f"header name {name!r} is not a valid token")
    if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
        raise ValueError(f"header {name!r} has a line break or NUL")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"header {name!r} is not latin-1 (RFC 9110 section 5.5)") from None


@dataclass(frozen=True, slots=True)
class SecurityHeaders(RouteInterceptor):
    """Security headers on every answer of a router.

    Attributes:
        hsts_max_age: ``Strict-Transport-Security`` max-age in seconds (RFC 6797); ``None``
            sends no HSTS (for a service reached over plain HTTP on purpose).
        hsts_include_subdomains: Adds ``includeSubDomains``.
        hsts_preload: Adds ``preload`` (needs a max-age of a year and subdomains).
        content_type_options: Sends ``X-Content-Type-Options: nosniff``.
        frame_options: ``X-Frame-Options`` (``"DENY"``, ``"SAMEORIGIN"``) or ``None``.
        content_security_policy: ``Content-Security-Policy``; the default suits a JSON API
            (nothing may load, nothing may frame it). ``None`` sends none.
        referrer_policy: ``Referrer-Policy``, or ``None``.
        cross_origin_opener_policy: ``Cross-Origin-Opener-Policy``, or ``None``.
        custom: Further headers, name to value.

    Raises:
        ValueError: A negative max-age, preload without its preconditions, an unknown
            frame option or referrer policy, or a header value with a line break.
    """

    hsts_max_age: int | None = 63_072_000
    hsts_include_subdomains: bool = True
    hsts_preload: bool = False
    content_type_options: bool = True
    frame_options: Literal["DENY", "SAMEORIGIN"] | None = "DENY"
    content_security_policy: str | None = "default-src 'none'; frame-ancestors 'none'"
    referrer_policy: str | None = "no-referrer"
    cross_origin_opener_policy: str | None = "same-origin"
    custom: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.hsts_max_age is not None and (
            type(self.hsts_max_age) is not int or self.hsts_max_age < 0
        ):
            raise ValueError("hsts_max_age must be a whole number of seconds >= 0, or None")
        if self.hsts_preload and not (
            self.hsts_include_subdomains and (self.hsts_max_age or 0) >= 31_536_000
        ):
            raise ValueError("hsts_preload needs include_subdomains and a max-age >= 1 year")
        if self.frame_options not in ("DENY", "SAMEORIGIN", None):
            raise ValueError("frame_options must be 'DENY', 'SAMEORIGIN' or None")
        if self.referrer_policy is not None and self.referrer_policy not in _REFERRER_POLICIES:
            raise ValueError(f"referrer_policy {self.referrer_policy!r} is not a known policy")
        for name, value in self.headers():
            check_header(name, value)

    def headers(self) -> list[tuple[str, str]]:
        """The header pairs this policy sends, in a fixed order."""
        pairs: list[tuple[str, str]] = []
        if self.hsts_max_age is not None:
            value = f"max-age={self.hsts_max_age}"
            if self.hsts_include_subdomains:
                value += "; includeSubDomains"
            if self.hsts_preload:
                value += "; preload"
            pairs.append(("strict-transport-security", value))
        if self.content_type_options:
            pairs.append(("x-content-type-options", "nosniff"))
        if self.frame_options is not None:
            pairs.append(("x-frame-options", self.frame_options))
        optional = (
            ("content-security-policy", self.content_security_policy),
            ("referrer-policy", self.referrer_policy),
            ("cross-origin-opener-policy", self.cross_origin_opener_policy),
        )
        pairs.extend((name, value) for name, value in optional if value is not None)
        pairs.extend((name.lower(), value) for name, value in self.custom.items())
        return pairs

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """Render the header block once; return the interceptor that appends it."""
        block = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in self.headers()]
        return _appender(block)


def _appender(block: list[tuple[bytes, bytes]]) -> Interceptor:
    async def add_headers(context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
        response = await call_next(context)
        present = {name for name, _ in response.headers}
        # A new answer, not an in-place edit: the core may share one precomputed answer
        # (an OPTIONS or 405) between requests.
        headers = [*response.headers, *(pair for pair in block if pair[0] not in present)]
        return HttpResponse(response.status_code, headers, response.body)

    return add_headers

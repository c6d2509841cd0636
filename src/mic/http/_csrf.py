"""`CsrfPolicy`: double-submit CSRF protection for cookie-authenticated browsers.

A request that carries one of the router's authentication cookies and uses an unsafe method
must repeat the CSRF cookie's value in a header: a cross-site page can make the browser send
cookies, but cannot read them to fill in the header. Requests authenticated otherwise
(bearer tokens, API keys) are not exposed to CSRF and pass.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mic.http._interceptors import Interceptor, RouteInterceptor
from mic.http._render import HttpResponse
from mic.http._specs import HttpRouteSpec
from mic.model import ForbiddenError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mic.http._context import HttpRequestContext
    from mic.http._interceptors import Endpoint, HttpRouterConfig

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_TOKEN_VALUE = re.compile(r"[A-Za-z0-9_-]{32,128}")
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@dataclass(frozen=True, slots=True)
class CsrfPolicy(RouteInterceptor):
    """Double-submit CSRF checks on unsafe methods of cookie-authenticated requests.

    Attributes:
        auth_cookies: The cookies that authenticate a browser (the session cookie). Only
            requests carrying one of them are checked.
        cookie_name: The CSRF cookie; the default ``__Host-`` prefix makes browsers refuse
            it unless Secure, host-only and ``Path=/``, so a sibling subdomain cannot plant
            one (RFC 6265bis section 4.1.3.2).
        header_name: The header the page's script copies the cookie into.
        same_site: The CSRF cookie's ``SameSite``.
        secure: The CSRF cookie's ``Secure`` (required by the ``__Host-`` prefix).

    Raises:
        ValueError: No auth cookie, bad names, or a ``__Host-`` cookie that is not secure.

    A safe request without a CSRF cookie gets one (readable by scripts, so not HttpOnly).
    """

    auth_cookies: tuple[str, ...]
    cookie_name: str = "__Host-csrf"
    header_name: str = "X-CSRF-Token"
    same_site: Literal["strict", "lax"] = "strict"
    secure: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.auth_cookies, str):
            raise TypeError("auth_cookies must be a tuple of cookie names, not one string")
        if not self.auth_cookies:
            raise ValueError("auth_cookies must name the cookie(s) that authenticate a browser")
        for name in (*self.auth_cookies, self.cookie_name, self.header_name):
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid cookie or header name")
        if self.same_site not in ("strict", "lax"):
            raise ValueError("same_site must be 'strict' or 'lax'")
        if self.cookie_name.startswith("__Host-") and not self.secure:
            raise ValueError("a __Host- cookie must be secure; rename it to use secure=False")
        object.__setattr__(self, "auth_cookies", tuple(self.auth_cookies))

    def new_token(self) -> str:
        """A fresh token: 32 random bytes, base64url (256 bits)."""
        return secrets.token_urlsafe(32)

    def set_cookie(self, token: str) -> str:
        """The ``Set-Cookie`` value that hands `token` to the browser."""
        secure = "; Secure" if self.secure else ""
        return f"{self.cookie_name}={token}; Path=/{secure}; SameSite={self.same_site.title()}"

    def bind(self, route: HttpRouteSpec, config: HttpRouterConfig) -> Interceptor:
        """Return the request check."""
        return _Csrf(self).handle

    def openapi_errors(self) -> Mapping[int, str]:
        """403 for a missing or wrong CSRF token."""
        return {403: "Missing or invalid CSRF token"}


class _Csrf:
    __slots__ = ("_header", "policy")

    def __init__(self, policy: CsrfPolicy) -> None:
        self.policy = policy
        self._header = policy.header_name.lower()

    async def handle(self, context: HttpRequestContext, call_next: Endpoint) -> HttpResponse:
        policy = self.policy
        cookies = context.cookies
        cookie = cookies.get(policy.cookie_name)
        if context.method in _SAFE_METHODS:
            response = await call_next(context)
            if cookie is None or not _TOKEN_VALUE.fullmatch(cookie):
                value = policy.set_cookie(policy.new_token()).encode("latin-1")
                # A copy: the core may share one precomputed answer between requests.
                headers = [*response.headers, (b"set-cookie", value)]
                return HttpResponse(response.status_code, headers, response.body)
            return response
        if any(name in cookies for name in policy.auth_cookies):
            _check(cookie, context.headers.getall(self._header), policy.header_name)
        return await call_next(context)


def _check(cookie: str | None, sent: list[str], header: str) -> None:
    if not sent or cookie is None:
        raise ForbiddenError(
            "csrf_token_missing",
            f"This request needs the CSRF token in the {header} header",
        )
    # Constant-time: the comparison must not tell an attacker how much of a guess was right.
    if (
        len(sent) != 1
        or not _TOKEN_VALUE.fullmatch(cookie)
        or not hmac.compare_digest(sent[0].strip().encode(), cookie.encode())
    ):
        raise ForbiddenError("csrf_token_invalid", "The CSRF token does not match")

"""Pure-data specs: a route, its response, a cookie. No framework is imported here."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from mic._errors import MicError
from mic.model import DomainError

if TYPE_CHECKING:
    from mic.http._interceptors import RouteInterceptor

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_PLACEHOLDER = re.compile(r"{([^{}]*)}")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# RFC 9110 section 5.6.2 token, for header and cookie names.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# RFC 6265 section 4.1.1 cookie-octet: no controls, whitespace, DQUOTE, comma, semicolon, backslash.
_COOKIE_VALUE = re.compile(r"^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$")

# The renderer owns the message framing (RFC 9112 section 6): a handler never sets these.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})

Handler = Callable[..., Any | Awaitable[Any]]
CookieSameSite: TypeAlias = Literal["lax", "strict", "none"]
"""The `SameSite` attribute of a cookie (RFC 6265bis section 4.1.2.7)."""


def _is_latin_1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


class RouteSpecError(MicError, ValueError):
    """A route spec that cannot work; raised when the spec or the router is built."""


def path_placeholders(path: str) -> tuple[str, ...]:
    """The `{name}` placeholders of a path template, in order."""
    return tuple(_PLACEHOLDER.findall(path))


@dataclass(frozen=True, slots=True)
class HttpCookieSpec:
    """A cookie to set on the response, secure by default.

    The field names are the spec's (and Starlette's and Litestar's): `key`, `httponly`,
    `samesite`.

    Attributes:
        key: Cookie name (an RFC 9110 token).
        value: Cookie value (RFC 6265 cookie-octets; encode anything else first).
        max_age: Lifetime in seconds; ``0`` deletes the cookie; ``None`` for a session cookie.
        expires: Absolute expiry, as an alternative to `max_age`.
        path: Path scope (``/`` by default).
        domain: Domain scope; ``None`` keeps the cookie host-only.
        secure: Send only over HTTPS (default ``True``).
        httponly: Hide from JavaScript (default ``True``).
        samesite: ``"lax"`` (default), ``"strict"`` or ``"none"`` (which requires `secure`).
    """

    key: str
    value: str
    max_age: int | None = None
    expires: datetime | None = None
    path: str = "/"
    domain: str | None = None
    secure: bool = True
    httponly: bool = True
    samesite: CookieSameSite = "lax"

    def __post_init__(self) -> None:
        if not _TOKEN.match(self.key):
            raise ValueError(f"cookie name {self.key!r} is not a valid token")
        if not _COOKIE_VALUE.match(self.value):
            raise ValueError(f"cookie {self.key!r} has characters not allowed in a cookie value")
        if self.samesite not in ("lax", "strict", "none"):
            raise ValueError(f"cookie {self.key!r}: samesite must be lax, strict or none")
        if self.samesite == "none" and not self.secure:
            raise ValueError(f"cookie {self.key!r}: SameSite=None requires Secure")
        for attribute in (self.path, self.domain or ""):
            if ";" in attribute or any(ord(c) < 0x20 for c in attribute):
                raise ValueError(f"cookie {self.key!r} has an invalid path or domain")

    def render(self) -> str:
        """The `Set-Cookie` header value."""
        parts = [f"{self.key}={self.value}"]
        if self.max_age is not None:
            parts.append(f"Max-Age={self.max_age}")
        if self.expires is not None:
            parts.append("Expires=" + self.expires.strftime("%a, %d %b %Y %H:%M:%S GMT"))
        if self.domain:
            parts.append(f"Domain={self.domain}")
        parts.append(f"Path={self.path}")
        if self.secure:
            parts.append("Secure")
        if self.httponly:
            parts.append("HttpOnly")
        parts.append("SameSite=" + self.samesite.capitalize())
        return "; ".join(parts)


class _NoHeaders(Mapping[str, str]):
    """The empty, immutable header mapping every `HttpResponseSpec` starts with."""

    __slots__ = ()

    def __getitem__(self, name: str) -> str:
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and not other

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


NO_HEADERS: Mapping[str, str] = _NoHeaders()


@dataclass(frozen=True, slots=True, init=False)
class HttpResponseSpec:
    """What a handler answers.

    Attributes:
        status_code: HTTP status.
        body: ``None`` (no body), ``bytes`` (``application/octet-stream``), ``str``
            (``text/plain``), or anything pydantic can serialize to JSON (models,
            dataclasses, dicts, lists, UUID, datetime, Decimal...).
        media_type: Overrides the media type chosen from the body's type.
        cookies: Cookies to set.
        headers: Extra response headers.
    """

    # The defaults are `__init__`'s, declared here too for a dataclass subclass's generated
    # constructor (which then runs `__post_init__`) and for `dataclasses.fields`.
    status_code: int = 200
    body: Any = None
    media_type: str | None = None
    cookies: tuple[HttpCookieSpec, ...] = ()
    headers: Mapping[str, str] = NO_HEADERS

    def __init__(
        self,
        status_code: int = 200,
        body: Any = None,
        media_type: str | None = None,
        cookies: Iterable[HttpCookieSpec] = (),
        headers: Mapping[str, str] = NO_HEADERS,
    ) -> None:
        """Check and keep the answer; every handler return goes through here.

        Written by hand rather than generated: a frozen dataclass sets each field through
        ``object.__setattr__``, which costs about half of this constructor again per answer
        (ADR 0074); the slots are set through their descriptors instead.

        Raises:
            ValueError: The status is not a final HTTP status, or a header or cookie is
                invalid (see `_check_headers`).
        """
        # 1xx are interim answers (RFC 9110 section 15.2): never a handler's final answer.
        if not 200 <= status_code <= 599:
            raise ValueError(f"status_code {status_code} is not a final HTTP status")
        if type(cookies) is not tuple:
            cookies = tuple(cookies)
        _set_status(self, status_code)
        _set_body(self, body)
        _set_media_type(self, media_type)
        _set_cookies(self, cookies)
        _set_headers(self, headers)
        # `is` first: truth-testing the default would call its Python-level `__len__`.
        if headers is not NO_HEADERS and headers:
            self._check_headers()

    def __post_init__(self) -> None:
        """Check what a dataclass subclass's generated constructor set, as `__init__` does.

        Raises:
            ValueError: As `__init__`.
        """
        HttpResponseSpec.__init__(
            self, self.status_code, self.body, self.media_type, self.cookies, self.headers
        )

    def _check_headers(self) -> None:
        has_content_type = False
        for name, value in self.headers.items():
            if not _TOKEN.match(name):
                raise ValueError(f"header name {name!r} is not a valid token")
            if "\r" in value or "\n" in value or "\0" in value:
                raise ValueError(f"header {name!r} contains a line break or NUL")
            if not value.isascii() and not _is_latin_1(value):
                raise ValueError(f"header {name!r} is not latin-1 (RFC 9110 section 5.5)")
            lowered = name.lower()
            if lowered in _FRAMING_HEADERS:
                raise ValueError(f"header {name!r} is computed by the renderer; do not set it")
            if lowered == "content-type":
                # One Content-Type on the wire: the header is another way to say media_type.
                if self.media_type is not None and self.media_type != value:
                    raise ValueError("Content-Type header and media_type disagree; use media_type")
                _set_media_type(self, value)
                has_content_type = True
        if has_content_type:
            # Every spelling: `Content-Type` and `content-type` may both be keys.
            headers = self.headers.items()
            _set_headers(self, {k: v for k, v in headers if k.lower() != "content-type"})


# The slots' own setters: the frozen class refuses assignment, its constructor does not.
_set_status, _set_body, _set_media_type, _set_cookies, _set_headers = (
    HttpResponseSpec.__dict__[name].__set__
    for name in ("status_code", "body", "media_type", "cookies", "headers")
)


@dataclass(frozen=True, slots=True)
class HttpLink:
    """An OpenAPI link: how a value in this route's success answer feeds another operation.

    Clients and stateful testers (schemathesis) follow links, e.g. from "create" to "get".

    Attributes:
        operation: The target route's name (its operationId; ``name.method`` when the target
            serves several methods).
        parameters: Target parameter name to a runtime expression, e.g.
            ``{"item_id": "$response.body#/data/id"}``.
        description: Text for the API docs.
    """

    operation: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None


@dataclass(frozen=True, slots=True)
class HttpRouteSpec:
    """A route as pure data: how to reach it, what it accepts, what it answers.

    Attributes:
        method: One method or a tuple of methods served by the same handler.
        path: Path template, with ``{name}`` placeholders for path parameters.
        name: Unique route name (``"items.create"``); the OpenAPI operationId.
        category: Grouping (``"items"``); also the default OpenAPI tag.
        handler: Keyword-only callable, sync or async (see the handler convention).
        summary: One-line description for the API docs.
        description: Longer description for the API docs.
        tags: OpenAPI tags; `category` when empty.
        status_code: Status of a successful answer when the handler returns a plain value.
        response_model: Type of the success body, for docs and the typed client.
        responses: Other documented answers: status code to body type (or ``None``).
        errors: Domain errors the route may raise, documented as problem+json answers.
        auth: Who may call the route (see `mic.auth`); ``None`` means the router's
            `default_auth` (public when there is none); `Public()` is public in any case.
        rate_limit: Rate limit policy (see `mic.ratelimit`).
        idempotency: Idempotency-Key policy (see `mic.idempotency`).
        interceptors: Further interceptors, outermost first.
        max_body_size: Overrides the router's request body limit, in bytes.
        deprecated: Marks the operation deprecated in the docs.
        include_in_schema: Whether the route appears in the OpenAPI document.
        links: OpenAPI links of the success answer, by name (see `HttpLink`).
    """

    method: str | tuple[str, ...]
    path: str
    name: str
    category: str
    handler: Handler
    summary: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    status_code: int = 200
    response_model: Any = None
    responses: Mapping[int, Any] = field(default_factory=dict)
    errors: tuple[type[DomainError], ...] = ()
    auth: RouteInterceptor | None = None
    rate_limit: RouteInterceptor | None = None
    idempotency: RouteInterceptor | None = None
    interceptors: tuple[RouteInterceptor, ...] = ()
    max_body_size: int | None = None
    deprecated: bool = False
    include_in_schema: bool = True
    links: Mapping[str, HttpLink] = field(default_factory=dict)

    def __post_init__(self) -> None:
        methods = (self.method,) if isinstance(self.method, str) else tuple(self.method)
        normalized = tuple(dict.fromkeys(m.upper() for m in methods))
        unknown = [m for m in normalized if m not in HTTP_METHODS]
        if not normalized or unknown:
            raise RouteSpecError(f"route {self.name!r}: unsupported method(s) {unknown or methods}")
        object.__setattr__(self, "method", normalized[0] if len(normalized) == 1 else normalized)
        if not self.path.startswith("/"):
            raise RouteSpecError(f"route {self.name!r}: path {self.path!r} must start with '/'")
        for placeholder in path_placeholders(self.path):
            if not _IDENTIFIER.match(placeholder):
                raise RouteSpecError(
                    f"route {self.name!r}: path placeholder {{{placeholder}}} must be an identifier"
                )
        if not self.name:
            raise RouteSpecError("a route needs a non-empty name")
        if not callable(self.handler):
            raise RouteSpecError(f"route {self.name!r}: handler is not callable")
        if not 200 <= self.status_code <= 599:
            raise RouteSpecError(f"route {self.name!r}: status_code {self.status_code} is invalid")
        if self.max_body_size is not None and self.max_body_size < 0:
            raise RouteSpecError(f"route {self.name!r}: max_body_size must be >= 0")

    @property
    def methods(self) -> tuple[str, ...]:
        """The route's methods, upper-case, as a tuple."""
        return (self.method,) if isinstance(self.method, str) else self.method

    @property
    def openapi_tags(self) -> tuple[str, ...]:
        """The tags the docs show: `tags`, or the category."""
        return self.tags or ((self.category,) if self.category else ())

"""`HttpRequestContext`: what a handler or an interceptor may know about the current request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mic._errors import MicError
from mic.http._headers import Headers, QueryParams, first_raw_header, parse_cookie_header
from mic.model import DomainError, PayloadTooLargeError

Receive = Callable[[], Awaitable[Mapping[str, Any]]]

DEFAULT_MAX_BODY_SIZE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling, once an auth policy has verified it.

    Attributes:
        subject: The authenticated principal (``sub`` claim, API key id...).
        kind: How it was authenticated (``"service"``, ``"api_key"``, ``"custom"``...).
        issuer: Who vouched for it (``iss`` claim), when that applies.
        scopes: What it is allowed to do.
        claims: Every verified claim, for checks the toolkit does not know.
    """

    subject: str
    kind: str
    issuer: str | None = None
    scopes: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """What a context knows of the route serving it; one per route, shared by its requests.

    Attributes:
        name: The route name.
        path: The path template, router prefix included.
        max_body_size: The most request body bytes the route reads.
    """

    name: str = ""
    path: str = ""
    max_body_size: int = DEFAULT_MAX_BODY_SIZE


class ClientDisconnectedError(MicError):
    """The client went away before its request body was fully received."""


class HttpRequestContext:
    """The current request, framework-free.

    Handlers read it through `header()`, `cookie()`, `path_param()`, `query_param()` and
    `subject_id`, or the `headers`, `cookies`, `path_params` and `query_params` mappings.
    Headers are case-insensitive; query parameters and headers keep repeated values. The body
    is read at most once, lazily, and never beyond `max_body_size` bytes. `identity` is set by
    the route's auth policy; `state` is free-form storage for interceptors. Not thread-safe:
    one context belongs to one request.
    """

    __slots__ = (
        "_body",
        "_cookies",
        "_headers",
        "_query",
        "_receive",
        "_route",
        "_scope",
        "correlation_id",
        "identity",
        "method",
        "path",
        "path_params",
        "state",
    )

    def __init__(
        self,
        *,
        method: str = "GET",
        path: str = "/",
        path_params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        query_string: bytes | str = b"",
        query_params: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        cookies: Mapping[str, str] | None = None,
        body: bytes | None = None,
        client: tuple[str, int] | None = None,
        scheme: str = "http",
        route_name: str = "",
        route_path: str = "",
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        identity: Identity | None = None,
        subject_id: str | None = None,
    ) -> None:
        """A context from plain values, for unit tests and for callers outside a server.

        `query_params` and `cookies` are alternatives to `query_string` and a ``Cookie``
        header; `subject_id` is a shorthand for ``identity=Identity(subject_id, "custom")``.

        Raises:
            ValueError: Both `query_string` and `query_params` are given, or `subject_id`
                disagrees with `identity`.
        """
        if query_params is not None and query_string:
            raise ValueError("give query_string or query_params, not both")
        if subject_id is not None and identity is not None and identity.subject != subject_id:
            raise ValueError("subject_id and identity.subject disagree")
        self.method = method.upper()
        self.path = path
        self.path_params: dict[str, str] = dict(path_params or {})
        self._scope: Mapping[str, Any] = {
            "type": "http",
            "method": self.method,
            "path": path,
            "headers": [],
            "query_string": (
                query_string.encode() if isinstance(query_string, str) else query_string
            ),
            "client": client,
            "scheme": scheme,
        }
        self._route = RouteFacts(route_name, route_path, max_body_size)
        self._headers: Headers | None = Headers.from_mapping(headers)
        self._query: QueryParams | None = None
        if query_params is not None:
            pairs = query_params.items() if isinstance(query_params, Mapping) else query_params
            self._query = QueryParams(pairs)
        self._cookies: dict[str, str] | None = dict(cookies) if cookies is not None else None
        self._body = body
        self._receive: Receive | None = None
        if identity is None and subject_id is not None:
            identity = Identity(subject=subject_id, kind="custom")
        self.identity: Identity | None = identity
        self.correlation_id: str | None = None
        self.state: dict[str, Any] = {}

    @classmethod
    def from_asgi(
        cls,
        scope: Mapping[str, Any],
        receive: Receive,
        *,
        route_name: str = "",
        route_path: str = "",
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> HttpRequestContext:
        """Build a context from an ASGI HTTP scope; nothing is parsed until it is asked for."""
        return _from_asgi(cls, scope, receive, RouteFacts(route_name, route_path, max_body_size))

    @property
    def client(self) -> tuple[str, int] | None:
        """The peer address of the socket, as the server gave it (proxies are not trusted)."""
        client: tuple[str, int] | None = self._scope.get("client")
        return client

    @property
    def scheme(self) -> str:
        """``http`` or ``https``, as the server saw the request."""
        scheme: str = self._scope.get("scheme", "http")
        return scheme

    @property
    def route_name(self) -> str:
        """The name of the route serving the request (empty outside a route)."""
        return self._route.name

    @property
    def route_path(self) -> str:
        """The path template of the route serving the request, router prefix included."""
        return self._route.path

    @property
    def max_body_size(self) -> int:
        """The most request body bytes the route reads."""
        return self._route.max_body_size

    @property
    def headers(self) -> Headers:
        """Request headers, case-insensitive."""
        if self._headers is None:
            self._headers = Headers(self._scope["headers"])
        return self._headers

    @property
    def query_string(self) -> bytes:
        """The raw query string, as the client sent it (without the ``?``)."""
        query_string: bytes = self._scope.get("query_string", b"")
        return query_string

    @property
    def query_params(self) -> QueryParams:
        """Query parameters; `getall` returns repeated values."""
        if self._query is None:
            self._query = QueryParams.parse(self.query_string)
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        """Request cookies by name."""
        if self._cookies is None:
            self._cookies = parse_cookie_header(", ".join(self.headers.getall("cookie")))
        return self._cookies

    @property
    def subject_id(self) -> str | None:
        """The verified caller's subject (`identity.subject`); ``None`` on a public route."""
        return self.identity.subject if self.identity is not None else None

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header `name` (case-insensitive), or `default`."""
        return self.headers.get(name, default)

    def _first_header(self, name: bytes) -> str | None:
        """The first value of header `name`, given lower-case as bytes; ``None`` when absent.

        The pipeline's own reads (``content-type``, ``content-length``): the raw pairs are
        searched without building the `headers` index.
        """
        if self._headers is not None:
            return self._headers.get(name.decode("latin-1"))
        return first_raw_header(self._scope["headers"], name)

    def cookie(self, name: str, default: str | None = None) -> str | None:
        """The value of cookie `name`, or `default`."""
        return self.cookies.get(name, default)

    def path_param(self, name: str, default: str | None = None) -> str | None:
        """The raw text of path parameter `name`, or `default`."""
        return self.path_params.get(name, default)

    def query_param(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter `name`, or `default` (`getall` has the rest)."""
        return self.query_params.get(name, default)

    @property
    def client_host(self) -> str | None:
        """The peer address of the socket; proxies are not trusted here."""
        client = self.client
        return client[0] if client else None

    async def body(self) -> bytes:
        """The whole request body, read once.

        Raises:
            PayloadTooLargeError: The body (or its declared Content-Length) exceeds the limit.
            DomainError: Content-Length is not a valid number (400).
            ClientDisconnectedError: The client left before the body was complete.
        """
        if self._body is not None:
            return self._body
        # Read here rather than in a helper coroutine: one coroutine less per request.
        limit = self.max_body_size
        declared = self._first_header(b"content-length")
        if declared is not None:
            # isdigit() alone accepts "²" or "٣", which int() then refuses: ASCII digits only.
            if not (declared.isascii() and declared.isdigit()):
                raise DomainError("invalid_content_length", "Content-Length is not a number")
            if int(declared) > limit:
                raise _too_large(limit)
        if self._receive is None:
            self._body = b""
            return self._body
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnectedError
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                single = len(chunks) == 1 and type(chunk) is bytes
                self._body = chunk if single else b"".join(chunks)
                return self._body


def _from_asgi(
    cls: type[HttpRequestContext], scope: Mapping[str, Any], receive: Receive, route: RouteFacts
) -> HttpRequestContext:
    """`HttpRequestContext.from_asgi` with positional arguments: the per-request hot path.

    The context is a view over the scope: only what a request changes is stored here.
    """
    self = _new_context(cls)
    self.method = scope["method"]
    self.path = scope["path"]
    # A copy: a router may hand every request to a path the same dict (Litestar's routing
    # cache does), and a handler or interceptor changing its context must not change it.
    params = scope.get("path_params")
    self.path_params = params.copy() if params else {}
    self._scope = scope
    self._route = route
    self._headers = None
    self._query = None
    self._cookies = None
    self._body = None
    self._receive = receive
    self.identity = None
    self.correlation_id = None
    self.state = {}
    return self


_new_context = object.__new__


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        message=f"Request body exceeds the limit of {limit} bytes",
        details={"max_body_size": limit},
    )

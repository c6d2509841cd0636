"""gRPC service and method specs: pure data, like `mic.http`'s route specs (no grpc import).

A method's handler follows the mic handler convention (ADR 0001): keyword-only parameters,
a pydantic model as the request body, `DomainError`s raised. `GrpcMethodSpec.from_route`
serves an `HttpRouteSpec`'s handler as it is.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from mic._errors import MicError
from mic.http import HttpRouteSpec
from mic.model import DomainError

Wire = Literal["protobuf", "json"]
WIRES: frozenset[str] = frozenset({"protobuf", "json"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PACKAGE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class GrpcSpecError(MicError, ValueError):
    """A gRPC spec that cannot be served; raised when the spec or the server is built."""


def _pascal_case(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


@dataclass(frozen=True, slots=True)
class GrpcMethodSpec:
    """One RPC as pure data.

    Attributes:
        name: The RPC name (``"GetItem"``): an identifier, PascalCase by convention.
        handler: Keyword-only callable, sync or async (ADR 0001). An async generator
            function makes a server-streaming RPC: each yielded value is one message.
        response_model: Type of the answer (or of each streamed message); defaults to the
            handler's return annotation. Needed when the handler returns `HttpResponseSpec`.
        path: Path template whose ``{placeholders}`` name handler parameters (routes
            keep theirs); on gRPC those parameters are request fields like the others.
        description: Text for the emitted ``.proto`` (a comment above the ``rpc``).
        errors: Domain errors the method may raise (documentation).
        scopes: Scopes a caller's token must carry for this method (enforced by
            `ServiceAuthServerInterceptor` when `build_grpc_server` installs it).
    """

    name: str
    handler: Callable[..., Any]
    response_model: Any = None
    path: str = "/"
    description: str | None = None
    errors: tuple[type[DomainError], ...] = ()
    scopes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.name):
            raise GrpcSpecError(f"method name {self.name!r} must be an identifier")
        if not callable(self.handler):
            raise GrpcSpecError(f"method {self.name!r}: handler is not callable")
        if isinstance(self.scopes, str):
            raise GrpcSpecError(f"method {self.name!r}: scopes must be a tuple, not one string")
        object.__setattr__(self, "scopes", tuple(self.scopes))

    @property
    def server_streaming(self) -> bool:
        """Whether the handler is an async generator (a server-streaming RPC)."""
        return inspect.isasyncgenfunction(self.handler)

    @classmethod
    def from_route(
        cls, route: HttpRouteSpec, *, name: str | None = None, scopes: Iterable[str] = ()
    ) -> GrpcMethodSpec:
        """The same handler as `route`, as an RPC.

        Args:
            route: The HTTP route; its handler, path parameters and `response_model` are kept.
            name: The RPC name; defaults to the route name in PascalCase
                (``"items.get"`` -> ``"ItemsGet"``).
            scopes: Scopes the caller's token must carry (the route's `auth` policy is an
                HTTP interceptor and is not reused).
        """
        return cls(
            name=name or _pascal_case(route.name),
            handler=route.handler,
            response_model=route.response_model,
            path=route.path,
            description=route.summary or route.description,
            errors=route.errors,
            scopes=tuple(scopes),
        )


@dataclass(frozen=True, slots=True)
class GrpcServiceSpec:
    """A gRPC service as pure data: its full name, its methods and its wire format.

    Attributes:
        name: The service name (``"Items"``).
        package: The protobuf package (``"shop.v1"``); the full name is ``package.name``.
        methods: The RPCs; names must be unique.
        wire: ``"protobuf"`` (messages generated from the pydantic models; `proto()` emits
            the ``.proto`` for other languages) or ``"json"`` (the same JSON as HTTP).
        description: Text for the emitted ``.proto`` (a comment above the ``service``).
    """

    name: str
    package: str
    methods: tuple[GrpcMethodSpec, ...]
    wire: Wire = "protobuf"
    description: str | None = None
    _by_name: dict[str, GrpcMethodSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.name):
            raise GrpcSpecError(f"service name {self.name!r} must be an identifier")
        if not _PACKAGE.match(self.package):
            raise GrpcSpecError(f"package {self.package!r} must be dotted identifiers")
        if self.wire not in WIRES:
            raise GrpcSpecError(f"service {self.name!r}: wire must be 'protobuf' or 'json'")
        methods = tuple(self.methods)
        if not methods:
            raise GrpcSpecError(f"service {self.name!r} has no methods")
        by_name: dict[str, GrpcMethodSpec] = {}
        for method in methods:
            if method.name in by_name:
                raise GrpcSpecError(f"service {self.name!r}: two methods named {method.name!r}")
            by_name[method.name] = method
        object.__setattr__(self, "methods", methods)
        object.__setattr__(self, "_by_name", by_name)

    @property
    def full_name(self) -> str:
        """``package.name``, as it appears in method paths."""
        return f"{self.package}.{self.name}"

    def method(self, name: str) -> GrpcMethodSpec:
        """The method called `name`.

        Raises:
            KeyError: No such method.
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"service {self.full_name!r} has no method {name!r}") from None

    def method_path(self, name: str) -> str:
        """The gRPC path of a method: ``/package.Service/Method``."""
        return f"/{self.full_name}/{self.method(name).name}"

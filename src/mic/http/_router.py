"""One compiled router per mounted router: path lookup and method dispatch without a framework.

Static paths are found in a dict, templated ones in a segment trie; each path has a method
table (its routes, HEAD for GET, OPTIONS, and the path's 405 for every other method). Adapters
mount a `CompiledRouter` into their framework, so no framework route layer runs per request
(ADR 0070).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mic.http._answers import (
    AsgiApp,
    ExtraEndpoint,
    MethodNotAllowedApp,
    UnroutedResponder,
    allowed_methods,
    extra_endpoints,
)
from mic.http._interceptors import HttpRouterConfig
from mic.http._render import render_status_problem
from mic.http._route import CompiledRoute, Receive, Scope, Send, compile_routes
from mic.http._specs import HttpRouteSpec, RouteSpecError, path_placeholders

_NOT_FOUND = render_status_problem(404, "No route matches this path")
_SLASHES = re.compile("//+")


class PathTarget:
    """Everything one path template answers, by method.

    Attributes:
        path: The path template (router prefix included).
        allow: The methods the path answers, for `Allow`.
        methods: Method to the ASGI app answering it (routes, HEAD, OPTIONS, 405s).
        not_allowed: The path's 405 answer, for any method not in `methods`.
    """

    __slots__ = ("allow", "methods", "not_allowed", "path")

    def __init__(
        self,
        path: str,
        allow: tuple[str, ...],
        methods: Mapping[str, AsgiApp],
        not_allowed: MethodNotAllowedApp,
    ) -> None:
        self.path = path
        self.allow = allow
        self.methods = dict(methods)
        self.not_allowed = not_allowed

    def app_for(self, method: str) -> AsgiApp:
        """The ASGI app answering `method` on this path (its 405 for unknown methods)."""
        return self.methods.get(method, self.not_allowed)

    def __repr__(self) -> str:
        return f"PathTarget({self.path!r}, allow={self.allow!r})"


class _Node:
    __slots__ = ("literal", "names", "param", "target")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.target: PathTarget | None = None
        self.names: tuple[str, ...] = ()


def _key(path: str) -> str:
    """`/x/` and `/x` are one path (as on Litestar); `/` stays `/`."""
    return path[:-1] if len(path) > 1 and path[-1] == "/" else path


class CompiledRouter:
    """The routes of one router, compiled once, with their path lookup and method dispatch.

    It is itself an ASGI app (an unknown path is a 404 problem through the app-wide
    interceptors); adapters mount it into a framework and call `match` and
    `PathTarget.app_for` themselves, leaving unknown paths to the framework.

    Attributes:
        routes: The compiled routes, in declaration order.
        responder: Answers unrouted requests through the app-wide interceptors.
        extra_endpoints: Per path, the HEAD, OPTIONS and 405 answers (see `extra_endpoints`).
        targets: Path template to its `PathTarget`.

    Raises:
        RouteSpecError: A route cannot be served, or two routes collide.
    """

    def __init__(
        self,
        routes: Sequence[HttpRouteSpec],
        config: HttpRouterConfig | None = None,
        prefix: str = "",
    ) -> None:
        self.routes: tuple[CompiledRoute, ...] = compile_routes(tuple(routes), config, prefix)
        self.responder = UnroutedResponder(config)
        self.extra_endpoints: list[ExtraEndpoint] = extra_endpoints(self.routes, self.responder)
        self.targets: dict[str, PathTarget] = {}
        self._static: dict[str, PathTarget] = {}
        self._root = _Node()
        for path in dict.fromkeys(r.path for r in self.routes):
            table: dict[str, AsgiApp] = {}
            for route in self.routes:
                if route.path == path:
                    table.update(dict.fromkeys(route.spec.methods, route))
            allow = allowed_methods(self.routes, path)
            # The path's 405 from the extra endpoints (TRACE is never declared, so there is
            # always one); it also answers methods no table knows (PROPFIND...).
            not_allowed = MethodNotAllowedApp(allow, self.responder, path)
            for extra in self.extra_endpoints:
                if extra.path == path:
                    table.update(dict.fromkeys(extra.methods, extra.app))
                    if isinstance(extra.app, MethodNotAllowedApp):
                        not_allowed = extra.app
            target = PathTarget(path, allow, table, not_allowed)
            self.targets[path] = target
            self._insert(path, target)

    def _insert(self, path: str, target: PathTarget) -> None:
        names = path_placeholders(path)
        if not names:
            self._static[_key(path)] = target
            return
        node = self._root
        for segment in _key(path)[1:].split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                if node.param is None:
                    node.param = _Node()
                node = node.param
            else:
                node = node.literal.setdefault(segment, _Node())
        if node.target is not None:
            raise RouteSpecError(
                f"paths {node.target.path!r} and {path!r} are the same path: "
                "give their placeholders the same names"
            )
        node.target = target
        node.names = names

    def match(self, path: str) -> tuple[PathTarget, dict[str, str]] | None:
        """The target serving `path` (a request path, prefix included) and its path params.

        A literal segment beats a placeholder; a placeholder takes one non-empty segment,
        as text (the pipeline validates its type). Runs of slashes count as one, as on
        Litestar (`/items//7` is `/items/7`), so both frameworks route a path alike.
        ``None`` when no route has this path.
        """
        if "//" in path:
            path = _SLASHES.sub("/", path)
        key = path[:-1] if len(path) > 1 and path[-1] == "/" else path
        target = self._static.get(key)
        if target is not None:
            return target, {}
        if key[:1] != "/" or (self._root.param is None and not self._root.literal):
            return None
        segments = key[1:].split("/")
        # Greedy first (a literal segment, else the placeholder): the answer of the full
        # search whenever it succeeds; the search runs only when it does not.
        node = self._root
        values: list[str] = []
        greedy = True
        for segment in segments:
            following = node.literal.get(segment)
            if following is None and segment and node.param is not None:
                following = node.param
                values.append(segment)
            if following is None:
                greedy = False
                break
            node = following
        target = node.target if greedy else None
        if target is None:
            values = []
            found = _walk(self._root, segments, 0, values)
            if found is None or found.target is None:
                return None
            node, target = found, found.target
            values.reverse()
        names = node.names
        if len(names) == 1:  # the common template: one placeholder, no zip to build
            return target, {names[0]: values[0]}
        return target, dict(zip(names, values, strict=True))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request (ASGI); an unknown path is a 404 problem."""
        found = self.match(scope["path"])
        if found is None:
            response = await self.responder.respond(scope, receive, _NOT_FOUND)
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": response.headers,
                }
            )
            body = b"" if scope["method"] == "HEAD" else response.body
            await send({"type": "http.response.body", "body": body})
            return
        target, params = found
        # In place, as Starlette's and Litestar's routers do: the server made this scope
        # for this one request.
        scope["path_params"] = params  # type: ignore[index]
        await target.app_for(scope["method"])(scope, receive, send)


def _walk(node: _Node, segments: list[str], index: int, values: list[str]) -> _Node | None:
    """The leaf serving `segments`; the placeholder values are appended, last first."""
    if index == len(segments):
        return node if node.target is not None else None
    segment = segments[index]
    literal = node.literal.get(segment)
    if literal is not None:
        found = _walk(literal, segments, index + 1, values)
        if found is not None:
            return found
    if node.param is not None and segment:
        found = _walk(node.param, segments, index + 1, values)
        if found is not None:
            values.append(segment)
            return found
    return None

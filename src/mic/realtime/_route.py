"""`CompiledWebSocketRoute`: a WebSocket route resolved once, served as a plain ASGI app.

The handshake runs the same route interceptors as HTTP (``ServiceAuth``, ``ApiKeyAuth``,
``CustomAuth``, ``RateLimit``, ``CorrelationIdInterceptor``...) through their public `bind`,
around the whole session: so a token is checked by exactly the code that checks it on HTTP,
and a correlation id set at the handshake is in the context of every log line of the
connection. Adapters only route to it, so every framework behaves the same (ADR 0093).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from mic import context as mic_context
from mic.http import (
    Endpoint,
    HttpRequestContext,
    HttpResponse,
    HttpRouterConfig,
    HttpRouteSpec,
    Interceptor,
    RouteSpecError,
    SecurityRequirement,
    render_problem,
)
from mic.model import DomainError, NotFoundError
from mic.ratelimit import RateLimiter
from mic.realtime._connection import WebSocketConnection
from mic.realtime._hub import RealtimeHub
from mic.realtime._protocol import CloseCode, close_reason, handshake_close_code
from mic.realtime._specs import WebSocketRouteSpec

logger = logging.getLogger("mic.realtime")

LAST_ID_PARAMETER = "last_id"
"""Query parameter a client resumes its route's room from: ``?last_id=1700000000000-0``."""

_ASGI = "mic.realtime.asgi"
_ACCEPTED = "mic.realtime.accepted"
_BEARER_PROTOCOL = "bearer."


def _never_called() -> None:
    """Stand-in handler: interceptors bind against an HTTP spec, never call its handler."""


def _chain(interceptor: Interceptor, call_next: Endpoint) -> Endpoint:
    async def endpoint(context: HttpRequestContext) -> HttpResponse:
        return await interceptor(context, call_next)

    return endpoint


class CompiledWebSocketRoute:
    """A WebSocket route resolved once: an ASGI app serving one `WebSocketRouteSpec`.

    Attributes:
        spec: The route spec.
        path: The full path template (router prefix included), placeholders untyped.
        hub: The process's `RealtimeHub` (from the router's services).
        security: Security requirements declared by the handshake interceptors.
    """

    def __init__(
        self, spec: WebSocketRouteSpec, config: HttpRouterConfig, prefix: str = ""
    ) -> None:
        self.spec = spec
        self.path = (prefix.rstrip("/") + spec.path_template) if prefix else spec.path_template
        hub = config.get(RealtimeHub)
        if hub is None:
            raise RouteSpecError(
                f"WebSocket route {spec.name!r} needs a RealtimeHub: pass "
                "HttpRouterConfig(services={RealtimeHub: hub})"
            )
        self.hub = hub
        auth = spec.auth if spec.auth is not None else config.default_auth
        policies = [*config.interceptors, auth, spec.rate_limit, *spec.interceptors]
        active = [p for p in policies if p is not None]
        self.security: tuple[SecurityRequirement, ...] = tuple(
            s for p in active if (s := p.openapi_security()) is not None
        )
        # The policies bind against an equivalent HTTP GET spec: only its name and path matter.
        handshake = HttpRouteSpec(
            method="GET",
            path=self.path,
            name=spec.name,
            category=spec.category,
            handler=_never_called,
        )
        endpoint: Endpoint = self._session
        for policy in reversed(active):
            bound = policy.bind(handshake, config)
            if bound is not None:
                endpoint = _chain(bound, endpoint)
        self._endpoint = endpoint
        # An ApiKeyAuth reads its own header; every other policy reads a bearer token.
        header = getattr(auth, "header", None)
        self._token_header = header.lower() if isinstance(header, str) else "authorization"
        self._limiter: RateLimiter | None = None
        if spec.message_rate_limit is not None:
            self._limiter = config.get(RateLimiter)
            if self._limiter is None:
                raise RouteSpecError(
                    f"WebSocket route {spec.name!r} has a message_rate_limit but no "
                    "RateLimiter is configured: pass HttpRouterConfig(services={RateLimiter: ...})"
                )

    def __repr__(self) -> str:
        return f"CompiledWebSocketRoute({self.spec.name!r}, {self.path})"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one WebSocket connection (ASGI); a plain HTTP request gets a 426."""
        if scope["type"] != "websocket":
            await self._upgrade_required(send)
            return
        if (await receive())["type"] != "websocket.connect":
            return
        context = self._context(scope)
        context.state[_ASGI] = (scope, receive, send)
        if self.hub.closing:
            await _refuse(send, CloseCode.GOING_AWAY, "server shutting down")
            return
        try:
            await self._endpoint(context)
        except DomainError as error:
            if not context.state.get(_ACCEPTED):
                self.hub.metrics.increment(
                    "realtime_handshakes_refused_total",
                    labels={"route": self.spec.name, "code": error.code},
                )
                await _refuse(send, handshake_close_code(error.http_status_code), error.code)
        except Exception:
            logger.exception("WebSocket handshake of route %s failed", self.spec.name)
            if not context.state.get(_ACCEPTED):
                await _refuse(send, CloseCode.INTERNAL_ERROR, "internal_error")

    @staticmethod
    async def _upgrade_required(send: Any) -> None:
        problem = render_problem(
            DomainError("upgrade_required", "This endpoint only speaks WebSocket")
        )
        headers = [(k, v) for k, v in problem.headers if k != b"content-length"]
        headers += [
            (b"content-length", str(len(problem.body)).encode()),
            (b"upgrade", b"websocket"),
            (b"connection", b"Upgrade"),
        ]
        await send({"type": "http.response.start", "status": 426, "headers": headers})
        await send({"type": "http.response.body", "body": problem.body})

    def _context(self, scope: Any) -> HttpRequestContext:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        token = self._offered_token(scope, headers)
        if token is not None and not any(name.lower() == self._token_header for name, _ in headers):
            bearer = self._token_header == "authorization"  # noqa: S105 - a header name
            value = f"Bearer {token}" if bearer else token
            headers.append((self._token_header, value))
        client = scope.get("client")
        return HttpRequestContext(
            method="GET",
            path=scope["path"],
            path_params=scope.get("path_params") or {},
            headers=headers,
            query_string=scope.get("query_string", b""),
            client=tuple(client) if client else None,
            scheme=scope.get("scheme", "ws"),
            route_name=self.spec.name,
            route_path=self.path,
        )

    def _offered_token(self, scope: Any, headers: list[tuple[str, str]]) -> str | None:
        """A token from a ``bearer.<token>`` subprotocol or, if allowed, the query string."""
        for protocol in scope.get("subprotocols") or ():
            if protocol.lower().startswith(_BEARER_PROTOCOL):
                return str(protocol[len(_BEARER_PROTOCOL) :])
        name = self.spec.token_query_parameter
        if name is not None:
            probe = HttpRequestContext(
                method="GET", path="/", query_string=scope.get("query_string", b"")
            )
            return probe.query_params.get(name)
        return None

    def _subprotocol(self, context: HttpRequestContext) -> str | None:
        offered = list(context.state[_ASGI][0].get("subprotocols") or ())
        for protocol in offered:
            if protocol in self.spec.subprotocols:
                return str(protocol)
        # Browsers fail a handshake that offered protocols and got none back: echo the token
        # protocol to its own client when nothing else was chosen.
        bearer = [p for p in offered if p.lower().startswith(_BEARER_PROTOCOL)]
        return str(bearer[0]) if bearer else None

    def _path_params(self, context: HttpRequestContext) -> dict[str, Any]:
        converted: dict[str, Any] = {}
        for name, convert in self.spec.path_converters.items():
            raw = context.path_params.get(name)
            try:
                converted[name] = convert(str(raw))
            except ValueError:
                raise NotFoundError(
                    "invalid_path_parameter", f"Path parameter {name!r} is not valid"
                ) from None
        return converted

    def _room_name(self, path_params: dict[str, Any]) -> str | None:
        if self.spec.room is None:
            return None
        try:
            return self.spec.room.name(**path_params)
        except ValueError:
            raise NotFoundError(
                "invalid_path_parameter", "The path does not name a valid room"
            ) from None

    async def _session(self, context: HttpRequestContext) -> HttpResponse:
        _, receive, send = context.state[_ASGI]
        path_params = self._path_params(context)
        room = self._room_name(path_params)
        correlation_id = context.correlation_id or mic_context.correlation_id.get()
        token = None
        if correlation_id is None:
            correlation_id = uuid.uuid4().hex
            token = mic_context.correlation_id.set(correlation_id)
        try:
            await self._serve(
                context=context,
                receive=receive,
                send=send,
                path_params=path_params,
                room=room,
                correlation_id=correlation_id,
            )
        finally:
            if token is not None:
                mic_context.correlation_id.reset(token)
        return HttpResponse(101)

    async def _serve(
        self,
        *,
        context: HttpRequestContext,
        receive: Any,
        send: Any,
        path_params: dict[str, Any],
        room: str | None,
        correlation_id: str,
    ) -> None:
        spec = self.spec
        connection = WebSocketConnection(
            hub=self.hub,
            send=send,
            context=context,
            route_name=spec.name,
            path_params=path_params,
            sends=spec.sends,
            queue_size=spec.send_queue_size,
            correlation_id=correlation_id,
        )
        self.hub.register(connection)
        expiry = None
        code = int(CloseCode.NORMAL)
        try:
            # In the room before the handshake completes: a client that sees the connection
            # open never misses a broadcast published after that.
            if room is not None:
                last_id = context.query_params.get(LAST_ID_PARAMETER)
                await connection.join(room, last_id=last_id)
            await send(
                {
                    "type": "websocket.accept",
                    "subprotocol": self._subprotocol(context),
                    "headers": [(b"x-request-id", correlation_id.encode())],
                }
            )
            context.state[_ACCEPTED] = True
            connection.start()
            expiry = self._expiry_timer(connection)
            if spec.on_connect is not None:
                await spec.on_connect(connection)
            code = await self._receive_loop(connection, receive)
        except asyncio.CancelledError:
            # `abort` cancels the session of a client that cannot even take a close frame.
            current = asyncio.current_task()
            if connection.close_code is None or current is None:
                raise
            current.uncancel()
        except DomainError as error:
            if not context.state.get(_ACCEPTED):
                raise
            await connection.close(handshake_close_code(error.http_status_code), error.code)
        except Exception:
            if not context.state.get(_ACCEPTED):
                raise
            logger.exception("WebSocket session of route %s failed", spec.name)
            await connection.close(CloseCode.INTERNAL_ERROR, "internal_error")
        finally:
            if expiry is not None:
                expiry.cancel()
            await connection.stop()
            self.hub.unregister(connection, connection.close_code or code)
            if spec.on_disconnect is not None:
                try:
                    await spec.on_disconnect(connection)
                except Exception:
                    logger.exception("on_disconnect of route %s failed", spec.name)

    def _expiry_timer(self, connection: WebSocketConnection) -> asyncio.TimerHandle | None:
        identity = connection.identity
        expires = identity.claims.get("exp") if identity is not None else None
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            return None
        delay = max(0.0, float(expires) - time.time())
        return asyncio.get_running_loop().call_later(
            delay, connection.abort, CloseCode.UNAUTHORIZED, "token_expired"
        )

    async def _receive_loop(self, connection: WebSocketConnection, receive: Any) -> int:
        spec, hub = self.spec, self.hub
        limit = spec.max_frame_size
        debug = logger.isEnabledFor(logging.DEBUG)
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return int(event.get("code", 1005))
            hub.received(connection)
            text = event.get("text")
            if text is None:
                raw = event.get("bytes") or b""
                if len(raw) > limit:
                    await self._too_big(connection, len(raw))
                else:
                    hub.dropped(connection, "binary")
                    await connection.close(
                        CloseCode.UNSUPPORTED_DATA, "binary frames are not supported"
                    )
                return connection.close_code or 0
            if len(text) * 4 > limit and (size := len(text.encode())) > limit:
                await self._too_big(connection, size)
                return connection.close_code or 0
            if debug:
                logger.debug(
                    "frame received on %s (%d characters)",
                    spec.name,
                    len(text),
                    extra={"connection": connection.id},
                )
            if connection.closed:
                continue
            if not await self._handle(connection, text):
                return connection.close_code or 0

    async def _too_big(self, connection: WebSocketConnection, size: int) -> None:
        self.hub.dropped(connection, "too_big")
        await connection.close(
            CloseCode.MESSAGE_TOO_BIG, f"frame of {size} bytes is over {self.spec.max_frame_size}"
        )

    async def _handle(self, connection: WebSocketConnection, text: str) -> bool:
        """Validate and handle one text frame; False when the connection was closed."""
        spec, hub = self.spec, self.hub
        if self._limiter is not None and spec.message_rate_limit is not None:
            key = f"{spec.name}:connection:{connection.id}"
            decision = await self._limiter.consume(key, spec.message_rate_limit)
            if not decision.allowed:
                hub.dropped(connection, "rate_limited")
                await connection.send_error(
                    "rate_limited",
                    "Too many messages; slow down",
                    {"retry_after": decision.retry_after},
                )
                return True
        if spec.receives is None or spec.on_message is None:
            hub.dropped(connection, "unexpected")
            await connection.send_error("unexpected_message", "This route accepts no messages")
            return True
        try:
            message = spec.receives.model_validate_json(text)
        except ValidationError as error:
            details = error.errors(include_url=False, include_context=False, include_input=False)
            if details[0]["type"] == "json_invalid":
                hub.dropped(connection, "invalid_json")
                await connection.close(CloseCode.INVALID_PAYLOAD, "frame is not JSON")
                return False
            hub.dropped(connection, "invalid_message")
            errors = [{"loc": list(d["loc"]), "type": d["type"], "msg": d["msg"]} for d in details]
            await connection.send_error(
                "invalid_message",
                f"The message is not a valid {spec.receives.__name__}",
                {"errors": errors},
            )
            return True
        try:
            reply = await spec.on_message(connection, message)
            if reply is not None:
                await connection.send(reply)
        except DomainError as error:
            await connection.send_error(error.code, error.message, error.details)
        return True


async def _refuse(send: Any, code: int, reason: str) -> None:
    """Accept then close at once: browsers only see a close code after an accepted handshake."""
    await send({"type": "websocket.accept"})
    with contextlib.suppress(Exception):
        await send({"type": "websocket.close", "code": int(code), "reason": close_reason(reason)})


def compile_websocket_routes(
    routes: Sequence[WebSocketRouteSpec],
    config: HttpRouterConfig | None = None,
    prefix: str = "",
) -> tuple[CompiledWebSocketRoute, ...]:
    """Compile every route, checking that names and paths are unique.

    Raises:
        RouteSpecError: A route cannot be served (no hub, a policy whose dependency is not
            configured...), or two routes share a name or a path.
    """
    config = config or HttpRouterConfig()
    if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
        raise RouteSpecError(f"prefix {prefix!r} must start with '/' and not end with '/'")
    compiled = tuple(CompiledWebSocketRoute(route, config, prefix) for route in routes)
    names: set[str] = set()
    paths: set[str] = set()
    for route in compiled:
        if route.spec.name in names:
            raise RouteSpecError(f"two WebSocket routes are named {route.spec.name!r}")
        if route.path in paths:
            raise RouteSpecError(f"two WebSocket routes serve {route.path}")
        names.add(route.spec.name)
        paths.add(route.path)
    return compiled

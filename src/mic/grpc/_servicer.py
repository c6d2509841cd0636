"""Serve compiled methods on grpcio: bind the request, call the handler, answer or abort.

Each RPC gets the request bytes (no grpc deserializer, so a bad message is mapped by us),
runs with the caller's correlation id, ``traceparent``, identity and deadline in context,
and answers the encoded message, or aborts with the `DomainError`'s status and problem.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ValidationError

from mic import context as mic_context
from mic._deps import require
from mic.grpc._contract import MethodContract, validation_errors
from mic.grpc._messages import MalformedMessageError, UnknownFieldsError
from mic.grpc._protobuf import ProtoSchema
from mic.http import HttpRequestContext, Identity
from mic.model import DomainError, ValidationFailedError
from mic.observability import CorrelationIdInterceptor, parse_traceparent

require("grpc", "grpc")

import grpc.aio  # noqa: E402

import grpc  # noqa: E402

logger = logging.getLogger("mic.grpc")

identity_var: contextvars.ContextVar[Identity | None] = contextvars.ContextVar(
    "mic_grpc_identity", default=None
)
deadline_var: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "mic_grpc_deadline", default=None
)
_CORRELATION = CorrelationIdInterceptor()
_CORRELATION_KEYS = ("x-request-id", "x-correlation-id")


def remaining_time() -> float | None:
    """Seconds left before the current RPC's deadline; ``None`` outside an RPC or without one.

    `authenticated_channel` uses it so a call made while serving an RPC never outlives it.
    """
    deadline = deadline_var.get()
    return None if deadline is None else deadline - time.monotonic()


class _Codec:
    """Request bytes to a request model, a response model to bytes, for one wire format."""

    def __init__(self, contract: MethodContract, schema: ProtoSchema | None) -> None:
        self.contract = contract
        self.schema = schema

    def decode_request(self, data: bytes) -> BaseModel:
        model = self.contract.request_model
        if self.schema is None:
            try:
                return model.model_validate_json(data, by_name=True)
            except ValidationError as exc:
                if exc.errors()[0]["type"] == "json_invalid":
                    raise DomainError(
                        "malformed_message", "The request is not valid JSON"
                    ) from None
                raise ValidationFailedError(
                    message="The request is not valid",
                    details={"errors": validation_errors(exc)},
                ) from None
        try:
            values = self.schema.decode(model, data)
        except MalformedMessageError as exc:
            raise DomainError(
                "malformed_message",
                "The request is not a valid protobuf message",
                {"error": str(exc)},
            ) from None
        except UnknownFieldsError as exc:
            errors = [
                {"loc": loc, "type": "unknown_field", "msg": "Unknown field number"}
                for loc in exc.locations
            ]
            raise ValidationFailedError(
                message="The request is not valid", details={"errors": errors}
            ) from None
        try:
            # The wire already typed every value; lax mode only reads the string forms of
            # datetimes, UUIDs, decimals and enums (ADR 0120).
            return model.model_validate(values, strict=False, by_name=True)
        except ValidationError as exc:
            raise ValidationFailedError(
                message="The request is not valid", details={"errors": validation_errors(exc)}
            ) from None

    def encode_response(self, result: Any) -> bytes:
        message = self.contract.response_message(result)
        if self.schema is None:
            return message.__pydantic_serializer__.to_json(message, by_alias=True)
        return self.schema.encode(self.contract.response_model, message)


class _Call:
    """What one RPC knows before the handler runs; sets and resets the context variables."""

    __slots__ = ("correlation_id", "metadata", "tokens")

    def __init__(self, context: Any) -> None:
        # One pass over the metadata: text values only (``-bin`` values are bytes).
        metadata = [(k, v) for k, v in context.invocation_metadata() or () if type(v) is str]
        correlation_id = parent = None
        for key, value in metadata:
            if key in _CORRELATION_KEYS:
                if correlation_id is None and _CORRELATION.accepts(value):
                    correlation_id = value
            elif key == "traceparent" and parse_traceparent(value):
                parent = value
        if correlation_id is None:
            correlation_id = os.urandom(16).hex()  # what uuid4().hex carries, at a third the cost
        remaining = context.time_remaining()
        self.metadata = metadata
        self.correlation_id = correlation_id
        self.tokens = (
            mic_context.correlation_id.set(correlation_id),
            mic_context.traceparent.set(parent),
            deadline_var.set(None if remaining is None else time.monotonic() + remaining),
        )

    def reset(self) -> None:
        id_token, parent_token, deadline_token = self.tokens
        deadline_var.reset(deadline_token)
        mic_context.traceparent.reset(parent_token)
        mic_context.correlation_id.reset(id_token)


class MethodServer:
    """Runs one compiled method for grpcio (unary-unary or unary-stream)."""

    def __init__(self, contract: MethodContract, schema: ProtoSchema | None) -> None:
        self.contract = contract
        self.codec = _Codec(contract, schema)
        self.handler = contract.spec.handler
        self.is_async = contract.is_async

    def _kwargs(self, request: bytes, call: _Call) -> dict[str, Any]:
        contract = self.contract
        kwargs = contract.handler_kwargs(self.codec.decode_request(request))
        if contract.headers:
            errors: list[dict[str, Any]] = []
            by_name: dict[str, list[str]] = {}
            for key, value in call.metadata:
                by_name.setdefault(key, []).append(value)
            for param in contract.headers:
                values = by_name.get(param.alias)
                if not values:
                    if param.required:
                        errors.append(
                            {
                                "loc": ["metadata", param.alias],
                                "type": "missing",
                                "msg": "Field required",
                            }
                        )
                    else:
                        kwargs[param.name] = param.default_value()
                    continue
                try:
                    raw = values if param.is_sequence else values[0]
                    kwargs[param.name] = param.adapter.validate_python(raw)
                except ValidationError as exc:
                    errors.extend(
                        {
                            "loc": ["metadata", param.alias, *e["loc"]],
                            "type": e["type"],
                            "msg": e["msg"],
                        }
                        for e in validation_errors(exc)
                    )
            if errors:
                raise ValidationFailedError(
                    message="The request is not valid", details={"errors": errors}
                )
        if (name := contract.signature.context_name) is not None:
            context = HttpRequestContext(
                method="POST",
                path=contract.path,
                headers=call.metadata,
                route_name=contract.path,
                route_path=contract.path,
            )
            context.identity = identity_var.get()
            context.correlation_id = call.correlation_id
            kwargs[name] = context
        return kwargs

    async def _abort(self, context: Any, error: DomainError, call: _Call) -> None:
        from mic.grpc._errors import error_trailers

        code, message, trailers = error_trailers(error)
        await context.abort(code, message, (*trailers, ("x-request-id", call.correlation_id)))

    async def unary(self, request: bytes, context: Any) -> bytes:
        """Serve one unary call."""
        call = _Call(context)
        try:
            try:
                kwargs = self._kwargs(request, call)
                if self.is_async:
                    result = await self.handler(**kwargs)
                else:
                    result = await asyncio.to_thread(functools.partial(self.handler, **kwargs))
                answer = self.codec.encode_response(result)
            except DomainError as error:
                failure = error
            except Exception:
                logger.exception("unhandled error in gRPC method %s", self.contract.path)
                failure = internal_error()
            else:
                # Only failures echo the correlation id (see _abort): an extra trailer on
                # every answer costs about 5% of a loopback call (benchmarks/bench_grpc.py).
                return answer
            await self._abort(context, failure, call)
            raise AssertionError("abort returned")  # pragma: no cover - abort always raises
        finally:
            call.reset()

    async def stream(self, request: bytes, context: Any) -> AsyncIterator[bytes]:
        """Serve one server-streaming call: one message per value the handler yields."""
        call = _Call(context)
        failure: DomainError | None = None
        try:
            try:
                kwargs = self._kwargs(request, call)
                async for item in self.handler(**kwargs):
                    yield self.codec.encode_response(item)
            except DomainError as error:
                failure = error
            except Exception:
                logger.exception("unhandled error in gRPC method %s", self.contract.path)
                failure = internal_error()
            if failure is not None:
                await self._abort(context, failure, call)
        finally:
            call.reset()

    def rpc_handler(self) -> Any:
        """The grpcio method handler (raw bytes in and out)."""
        if self.contract.spec.server_streaming:
            return grpc.unary_stream_rpc_method_handler(self.stream)
        return grpc.unary_unary_rpc_method_handler(self.unary)


class _InternalError(DomainError):
    """What the client learns of an unexpected failure: nothing but its status (500)."""

    http_status_code = 500
    default_code = "internal_error"


def internal_error(message: str = "Internal server error") -> DomainError:
    """A 500 error that says nothing about its cause (``INTERNAL`` on the wire)."""
    return _InternalError(message=message)

"""`GrpcServiceClient`: call a service's methods with models; get models or `DomainError`s."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from mic._deps import require
from mic.grpc._contract import MethodContract, compile_method
from mic.grpc._errors import error_from_rpc_error
from mic.grpc._protobuf import ProtoSchema
from mic.grpc._specs import GrpcServiceSpec

require("grpc", "grpc")

import grpc.aio  # noqa: E402

import grpc  # noqa: E402


def _identity(value: bytes) -> bytes:
    return value


class GrpcServiceClient:
    """Calls the methods of `service` over `channel`, with the service's own wire format.

    Args:
        channel: A ``grpc.aio.Channel``, usually from `authenticated_channel`.
        service: The target's spec (shared with the server, or the same spec on both sides).
        timeout: Default seconds per call (the deadline the server sees); ``None`` for none.

    Raises:
        GrpcSpecError: The spec cannot be served over gRPC.
    """

    def __init__(self, channel: Any, service: GrpcServiceSpec, *, timeout: float | None = 10.0):
        self.channel = channel
        self.service = service
        self.timeout = timeout
        self._contracts = {m.name: compile_method(service, m) for m in service.methods}
        self._schema = (
            ProtoSchema([(service, list(self._contracts.values()))])
            if service.wire == "protobuf"
            else None
        )

    def _encode(self, contract: MethodContract, request: BaseModel | Mapping[str, Any]) -> bytes:
        model = contract.request_model
        if not isinstance(request, model):
            # A mapping is read like JSON would be (a decimal or a date may be a string).
            request = model.model_validate(request, strict=False)
        if self._schema is None:
            return request.__pydantic_serializer__.to_json(request, by_alias=True)
        return self._schema.encode(model, request)

    def _decode(self, contract: MethodContract, data: bytes) -> Any:
        model = contract.response_model
        if self._schema is None:
            message = model.model_validate_json(data)
        else:
            message = model.model_validate(
                self._schema.decode(model, data), strict=False, by_name=True
            )
        return contract.response_value(message)

    async def call(
        self,
        method: str,
        request: BaseModel | Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - gRPC's deadline, sent to the server
        metadata: Iterable[tuple[str, str]] = (),
    ) -> Any:
        """Call a unary method; the answer model (or the wrapped value, or ``None``).

        Args:
            method: The method name.
            request: The request model, or a mapping validated into it.
            timeout: Seconds for this call; the client's default when ``None``.
            metadata: Extra metadata (header parameters of the handler, for instance).

        Raises:
            DomainError: The call failed: the error the server raised (its class, ``code``,
                message and ``details``), or the one the status stands for.
            pydantic.ValidationError: `request` does not fit the request model.
        """
        contract = self._contracts[self.service.method(method).name]
        payload = self._encode(contract, request if request is not None else {})
        call = self.channel.unary_unary(
            contract.path, request_serializer=_identity, response_deserializer=_identity
        )
        try:
            data = await call(
                payload,
                timeout=self.timeout if timeout is None else timeout,
                metadata=tuple(metadata),
            )
        except grpc.aio.AioRpcError as error:
            raise error_from_rpc_error(error) from error
        return self._decode(contract, data)

    async def stream(
        self,
        method: str,
        request: BaseModel | Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - gRPC's deadline, sent to the server
        metadata: Iterable[tuple[str, str]] = (),
    ) -> Any:
        """Call a server-streaming method; an async iterator of answers.

        Raises:
            DomainError: As `call`, while iterating.
        """
        contract = self._contracts[self.service.method(method).name]
        payload = self._encode(contract, request if request is not None else {})
        call = self.channel.unary_stream(
            contract.path, request_serializer=_identity, response_deserializer=_identity
        )
        responses = call(
            payload, timeout=self.timeout if timeout is None else timeout, metadata=tuple(metadata)
        )
        try:
            async for data in responses:
                yield self._decode(contract, data)
        except grpc.aio.AioRpcError as error:
            raise error_from_rpc_error(error) from error

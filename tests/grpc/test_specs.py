"""Specs and contracts: what builds, what fails at build time with a clear message."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from mic.grpc import GrpcMethodSpec, GrpcServiceSpec, GrpcSpecError, proto_files
from mic.grpc._contract import compile_method
from mic.grpc._messages import MalformedMessageError, UnknownFieldsError
from mic.grpc._protobuf import ProtoSchema
from mic.http import Cookie, Header, HttpResponseSpec, HttpRouteSpec


class Leaf(BaseModel):
    n: int


class Everything(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=0)] = ""
    flag: bool | None = None
    ratio: float = 0.5
    raw: bytes = b""
    when: dt.date | None = None
    span: dt.timedelta | None = None
    uid: uuid.UUID | None = None
    money: Decimal | None = None
    level: Literal[1, 2] = 1
    kind: Literal["a", "b"] = "a"
    numbers: tuple[int, ...] = ()
    days: list[dt.date] = Field(default_factory=list)
    leaves: list[Leaf] = Field(default_factory=list)
    by_id: dict[int, Leaf] = Field(default_factory=dict)
    amounts: dict[str, Decimal] = Field(default_factory=dict)
    flags: dict[bool, str] = Field(default_factory=dict)
    free: Any = None
    doc: dict[str, Any] | None = None
    leaf: Leaf | None = None


async def echo(*, payload: Everything) -> Everything:
    return payload


def _schema(*methods: GrpcMethodSpec) -> tuple[ProtoSchema, GrpcServiceSpec]:
    service = GrpcServiceSpec(name="Svc", package="t.v1", methods=methods)
    return ProtoSchema([(service, [compile_method(service, m) for m in methods])]), service


@pytest.mark.parametrize(
    "free", [None, True, 3, 2.5, "x", [1, "a", None], {"k": {"n": [1.5, False]}}]
)
def test_every_mapped_type_round_trips(free: Any) -> None:
    schema, _ = _schema(GrpcMethodSpec(name="Echo", handler=echo))
    value = Everything(
        text="héllo",
        flag=False,
        ratio=float("inf"),
        raw=b"\x00\xff",
        when=dt.date(2026, 2, 3),
        span=dt.timedelta(seconds=90),
        uid=uuid.UUID(int=5),
        money=Decimal("-0.10"),
        level=2,
        kind="b",
        numbers=(1, -2),
        days=[dt.date(2020, 1, 1)],
        leaves=[Leaf(n=0)],
        by_id={7: Leaf(n=1)},
        amounts={"a": Decimal("1.5")},
        flags={True: "y"},
        free=free,
        doc={"a": [1, {"b": None}]},
        leaf=Leaf(n=0),
    )
    data = schema.decode(Everything, schema.encode(Everything, value))
    assert value == Everything.model_validate(data, strict=False)


def test_absent_fields_keep_their_defaults() -> None:
    schema, _ = _schema(GrpcMethodSpec(name="Echo", handler=echo))
    assert {} == schema.decode(Everything, b"")
    assert Everything() == Everything.model_validate(
        schema.decode(Everything, schema.encode(Everything, Everything())), strict=False
    )


def test_unknown_nested_fields_are_located() -> None:
    schema, _ = _schema(GrpcMethodSpec(name="Echo", handler=echo))
    # field 19 (leaf) holding field 9 (unknown in Leaf): forbidden in Everything, allowed in Leaf.
    assert {"leaf": {}} == schema.decode(Everything, b"\x9a\x01\x02\x48\x01")
    with pytest.raises(UnknownFieldsError, match=r"^unknown fields$") as caught:
        schema.decode(Everything, b"\xf8\x01\x01")  # field 31, unknown at the top
    assert [[31]] == caught.value.locations
    with pytest.raises(MalformedMessageError, match="parsing"):
        schema.decode(Everything, b"\x0a\x05ab")


class Aliased(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(alias="fullName")


async def aliased(*, payload: Aliased) -> Aliased:
    return payload


def test_fields_keep_their_python_names() -> None:
    text = proto_files(
        GrpcServiceSpec(
            name="A", package="a.v1", methods=(GrpcMethodSpec(name="Go", handler=aliased),)
        )
    )["a/v1.proto"]
    assert "optional string name = 1;" in text


def _taking(model: type[BaseModel]) -> Any:
    async def handler(*, payload: Any) -> None:
        return None

    handler.__annotations__ = {"payload": model, "return": None}
    return handler


class Union2(BaseModel):
    value: int | str


class Nested(BaseModel):
    value: list[list[int]]


class NullableItems(BaseModel):
    value: list[int | None]


class BadKey(BaseModel):
    value: dict[float, int]


class Pair(BaseModel):
    value: tuple[int, str]


class Plain:
    pass


class AnyList(BaseModel):
    value: list[Any]


class Arbitrary(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    value: Plain


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (Union2, "Union2.value: .* has no protobuf mapping"),
        (Nested, "nested lists or maps"),
        (NullableItems, "cannot hold None"),
        (BadKey, "map keys are str, int or bool"),
        (Pair, "only homogeneous tuples"),
        (Arbitrary, "unsupported type"),
        (AnyList, "lists and maps of Any"),
    ],
)
def test_unmappable_types_fail_at_build_time(model: type[BaseModel], message: str) -> None:
    handler = _taking(model)
    with pytest.raises(GrpcSpecError, match=message):
        _schema(GrpcMethodSpec(name="Go", handler=handler))


def test_json_wire_serves_what_protobuf_cannot() -> None:
    async def handler(*, payload: Union2) -> Union2:
        return payload

    service = GrpcServiceSpec(
        name="J", package="j.v1", wire="json", methods=(GrpcMethodSpec(name="Go", handler=handler),)
    )
    assert {} == proto_files(service)


def test_two_models_with_one_name_are_refused() -> None:
    first = type("Same", (BaseModel,), {"__annotations__": {"a": int}})
    second = type("Same", (BaseModel,), {"__annotations__": {"b": int}})

    one, two = _taking(first), _taking(second)
    with pytest.raises(GrpcSpecError, match=r"two models are both message 't\.v1\.Same'"):
        _schema(GrpcMethodSpec(name="One", handler=one), GrpcMethodSpec(name="Two", handler=two))


async def no_return(*, n: int):  # type: ignore[no-untyped-def]
    return n


async def answers_spec(*, n: int) -> HttpResponseSpec:
    return HttpResponseSpec(body={"n": n})


async def bad_stream(*, n: int) -> int:  # an async generator needs AsyncIterator[...]
    yield n  # type: ignore[misc]


async def with_cookie(*, session: Annotated[str, Cookie()]) -> None:
    return None


def positional(n: int) -> None:
    return None


async def unresolvable(*, n: int) -> Missing:  # type: ignore[name-defined]  # noqa: F821
    return n


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (no_return, "annotate the handler's return type"),
        (answers_spec, "returns HttpResponseSpec; set response_model"),
        (bad_stream, "returns AsyncIterator"),
        (with_cookie, "gRPC has no cookies"),
        (positional, "keyword-only"),
        (unresolvable, "cannot read the handler"),
    ],
)
def test_unservable_handlers_fail_at_build_time(handler: Any, message: str) -> None:
    service = GrpcServiceSpec(
        name="S", package="s.v1", methods=(GrpcMethodSpec(name="Go", handler=handler),)
    )
    with pytest.raises(GrpcSpecError, match=message):
        compile_method(service, service.methods[0])


async def stream_parts(*, n: int) -> AsyncIterator[Leaf]:
    yield Leaf(n=n)


async def nothing(*, n: int) -> None:
    return None


def test_contract_shapes() -> None:
    service = GrpcServiceSpec(
        name="S",
        package="s.v1",
        methods=(
            GrpcMethodSpec(name="Spec", handler=answers_spec, response_model=Leaf),
            GrpcMethodSpec(name="List", handler=no_return, response_model=list[Leaf]),
            GrpcMethodSpec(name="Stream", handler=stream_parts),
            GrpcMethodSpec(name="Nothing", handler=nothing),
        ),
    )
    spec, listing, stream, empty = (compile_method(service, m) for m in service.methods)
    assert Leaf(n=3) == spec.response_message(HttpResponseSpec(body={"n": 3}))
    assert Leaf(n=4) == spec.response_message(Aliased.model_construct(n=4))
    assert [Leaf(n=1)] == listing.response_value(listing.response_message([{"n": 1}]))
    assert (True, Leaf) == (stream.spec.server_streaming, stream.response_model)
    assert (None, {}) == (
        empty.response_value(empty.response_message("ignored")),
        empty.response_message(None).model_dump(),
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: GrpcMethodSpec(name="not valid", handler=echo), "must be an identifier"),
        (lambda: GrpcMethodSpec(name="Go", handler=3), "not callable"),  # type: ignore[arg-type]
        (lambda: GrpcMethodSpec(name="Go", handler=echo, scopes="a"), "not one string"),  # type: ignore[arg-type]
        (lambda: GrpcServiceSpec(name="S-1", package="p", methods=()), "must be an identifier"),
        (lambda: GrpcServiceSpec(name="S", package="p..q", methods=()), "dotted identifiers"),
        (lambda: GrpcServiceSpec(name="S", package="p", methods=(), wire="xml"), "wire must be"),  # type: ignore[arg-type]
        (lambda: GrpcServiceSpec(name="S", package="p", methods=()), "has no methods"),
        (
            lambda: GrpcServiceSpec(
                name="S", package="p", methods=(GrpcMethodSpec(name="A", handler=echo),) * 2
            ),
            "two methods named 'A'",
        ),
    ],
)
def test_invalid_specs_are_refused(build: Any, message: str) -> None:
    with pytest.raises(GrpcSpecError, match=message):
        build()


def test_service_lookups_and_routes() -> None:
    route = HttpRouteSpec(
        method="GET",
        path="/leaves/{n}",
        name="leaves.get",
        category="x",
        handler=no_return,
        response_model=Leaf,
        summary="One leaf",
    )
    method = GrpcMethodSpec.from_route(route, scopes=["leaves:read"])
    service = GrpcServiceSpec(name="S", package="s.v1", methods=(method,))
    assert ("LeavesGet", ("leaves:read",), "/s.v1.S/LeavesGet", "One leaf") == (
        method.name,
        method.scopes,
        service.method_path("LeavesGet"),
        method.description,
    )
    with pytest.raises(KeyError, match="has no method 'Nope'"):
        service.method("Nope")


def test_two_services_with_one_name_are_refused() -> None:
    from mic.grpc import build_grpc_server

    service = GrpcServiceSpec(
        name="S", package="s.v1", methods=(GrpcMethodSpec(name="A", handler=echo),)
    )
    with pytest.raises(GrpcSpecError, match="share a full name"):
        build_grpc_server([service, service], auth=None)
    with pytest.raises(TypeError, match="ServiceAuthServerInterceptor or None"):
        build_grpc_server([service], auth=object())


async def header_list(*, x_ids: Annotated[list[int], Header()]) -> None:
    return None

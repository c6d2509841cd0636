"""`OpaEngine` and `OpenFgaEngine` against in-process servers that speak the documented APIs."""

from __future__ import annotations

import json

import httpx
import pytest

from mic.authz import (
    AuthorizationEngineError,
    OpaEngine,
    OpenFgaEngine,
    RelationshipTuple,
    Resource,
    filter_authorized,
)
from mic.http import Identity
from tests.authz.policies import DATA, POLICY, who
from tests.authz.servers import FakeOpa, FakeOpenFga


def opa(server: FakeOpa) -> OpaEngine:
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return OpaEngine("http://opa:8181/", client=client, headers={"Authorization": "Bearer t"})


async def test_opa_runs_the_same_policy_as_the_embedded_engine() -> None:
    server = FakeOpa(POLICY, DATA)
    engine = opa(server)
    assert await engine.check(who("bob"), "delete", Resource("doc", "doc-7"))
    assert not await engine.check(who("bob"), "delete", Resource("doc", "doc-8"))
    sent = server.requests[0]
    assert "http://opa:8181/v1/data/authz/allow" == str(sent.url)
    assert "Bearer t" == sent.headers["authorization"]
    assert {"type": "doc", "id": "doc-7", "attributes": {}} == json.loads(sent.content)["input"][
        "resource"
    ]
    assert "OpaEngine('http://opa:8181', decision='authz/allow')" == repr(engine)
    await engine.aclose()


async def test_opa_undefined_result_denies() -> None:
    engine = opa(FakeOpa("package authz\nallow := input.nothing\n", {}))
    assert not await engine.check(who("x"), "read", Resource("doc"))


def failing(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("transport", "message"),
    [
        (failing(httpx.ConnectError("refused")), "unreachable: ConnectError"),
        (httpx.MockTransport(lambda r: httpx.Response(500)), "HTTP 500"),
        (httpx.MockTransport(lambda r: httpx.Response(200, text="<html>")), "not JSON"),
        (httpx.MockTransport(lambda r: httpx.Response(200, json=[1])), "not an object"),
    ],
)
async def test_opa_failures_are_engine_errors(transport: httpx.MockTransport, message: str) -> None:
    engine = OpaEngine("http://opa", client=httpx.AsyncClient(transport=transport))
    with pytest.raises(AuthorizationEngineError, match=message):
        await engine.check(who("x"), "read", Resource("doc"))


async def test_owned_clients_are_closed() -> None:
    engine = OpaEngine("http://opa", timeout=0.5)
    await engine.aclose()
    assert engine.client.is_closed
    fga = OpenFgaEngine("http://fga", store_id="S1")
    await fga.aclose()
    assert fga.client.is_closed


@pytest.mark.parametrize("url", ["opa:8181", "ftp://opa"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        OpaEngine(url)


STORE = "01HSTORE"


def fga(server: FakeOpenFga, **options: object) -> OpenFgaEngine:
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return OpenFgaEngine("http://fga:8080", store_id=STORE, client=client, **options)  # type: ignore[arg-type]


async def test_openfga_check_with_model_and_contextual_tuples() -> None:
    server = FakeOpenFga(STORE, [("user:ann", "viewer", "doc:1")])

    def groups(subject: Identity, action: str, resource: Resource) -> list[RelationshipTuple]:
        return [RelationshipTuple(f"user:{subject.subject}", "viewer", "doc:shared")]

    engine = fga(server, authorization_model_id="M1", contextual_tuples=groups, api_token="tok")
    assert await engine.check(who("ann"), "viewer", Resource("doc", "1"))
    assert not await engine.check(who("ann"), "editor", Resource("doc", "1"))
    assert await engine.check(who("bob"), "viewer", Resource("doc", "shared"))  # contextual
    assert not await engine.check(who("bob"), "viewer", Resource("doc"))  # no id: denied
    first = server.requests[0]
    assert "M1" == first["authorization_model_id"]
    assert {"user": "user:ann", "relation": "viewer", "object": "doc:1"} == first["tuple_key"]
    assert 3 == len(server.requests)
    assert "OpenFgaEngine('http://fga:8080', store_id='01HSTORE')" == repr(engine)


async def test_openfga_batch_check_filters_a_list_in_chunks() -> None:
    server = FakeOpenFga(STORE, [("user:ann", "viewer", f"doc:{i}") for i in range(0, 120, 3)])
    engine = fga(server)
    ids = [str(i) for i in range(120)]
    kept = await filter_authorized(engine, who("ann"), "viewer", ids, lambda i: Resource("doc", i))
    assert [str(i) for i in range(0, 120, 3)] == kept
    assert 3 == len(server.requests)  # 50 + 50 + 20


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"result": None}, "no 'result'"),
        ({"result": {"0": {"error": {"code": "x"}}}}, "could not decide check 0"),
        ({"result": {}}, "could not decide check 0"),
    ],
)
async def test_openfga_bad_batch_answers(answer: dict[str, object], message: str) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=answer))
    engine = OpenFgaEngine(
        "http://fga", store_id=STORE, client=httpx.AsyncClient(transport=transport)
    )
    with pytest.raises(AuthorizationEngineError, match=message):
        await engine.check_many(who("a"), "viewer", [Resource("doc", "1")])


@pytest.mark.parametrize(
    ("transport", "message"),
    [
        (failing(httpx.ReadTimeout("slow")), "unreachable: ReadTimeout"),
        (httpx.MockTransport(lambda r: httpx.Response(404, json={})), "HTTP 404"),
        (httpx.MockTransport(lambda r: httpx.Response(200, text="nope")), "not JSON"),
        (httpx.MockTransport(lambda r: httpx.Response(200, json="x")), "not an object"),
    ],
)
async def test_openfga_failures(transport: httpx.MockTransport, message: str) -> None:
    engine = OpenFgaEngine(
        "http://fga", store_id=STORE, client=httpx.AsyncClient(transport=transport)
    )
    with pytest.raises(AuthorizationEngineError, match=message):
        await engine.check(who("a"), "viewer", Resource("doc", "1"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"store_id": "../x"}, "not an OpenFGA store id"),
        ({"store_id": "S", "user_type": "user:x"}, "without ':'"),
    ],
)
def test_openfga_bad_arguments(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OpenFgaEngine("http://fga", **options)  # type: ignore[arg-type]


def test_relationship_tuple_needs_every_part() -> None:
    with pytest.raises(ValueError, match="non-empty relation"):
        RelationshipTuple("user:a", "", "doc:1")


async def test_inputs_that_are_not_json_are_engine_errors() -> None:
    odd = Identity("a", "custom", claims={"when": object()})
    engine = OpaEngine("http://opa", client=httpx.AsyncClient(transport=failing(AssertionError())))
    with pytest.raises(AuthorizationEngineError, match="not JSON"):
        await engine.check(odd, "read", Resource("doc"))
    fga = OpenFgaEngine(
        "http://fga",
        store_id=STORE,
        client=httpx.AsyncClient(transport=failing(AssertionError())),
        contextual_tuples=lambda s, a, r: [RelationshipTuple("user:a", "x", "doc:1")],
    )
    fga.authorization_model_id = object()  # type: ignore[assignment]
    with pytest.raises(AuthorizationEngineError, match="not JSON"):
        await fga.check(odd, "viewer", Resource("doc", "1"))

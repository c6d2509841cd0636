"""Typed calls from route specs, against a real uvicorn server on both frameworks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
import uvicorn

from mic import context as mic_context
from mic.auth import ServiceAuth, ServiceAuthSigner, ServiceAuthVerifier, ServiceKey
from mic.client import ServiceHttpClient, SyncServiceHttpClient, UpstreamServiceError
from mic.contracts import HttpSuccessEnvelope, StrictSchema, wrap_http_success
from mic.http import Cookie, Header, HttpRequestContext, HttpRouterConfig, HttpRouteSpec
from mic.model import ConflictError, NotFoundError, UnauthorizedError, ValidationFailedError
from tests.support import build_app, eventually, free_port

KEY = ServiceKey.generate("k1", "EdDSA")
SIGNER = ServiceAuthSigner(issuer="orders", keys=KEY)
VERIFIER = ServiceAuthVerifier(audience="billing", issuers=["orders"], keys=KEY)


class CreateInvoice(StrictSchema):
    customer: uuid.UUID
    amount: int


class Invoice(StrictSchema):
    id: int
    customer: uuid.UUID
    amount: int
    caller: str
    request_id: str | None


STORE: dict[int, Invoice] = {}


async def create_invoice(
    *, payload: CreateInvoice, context: HttpRequestContext
) -> HttpSuccessEnvelope[Invoice]:
    if payload.amount == 0:
        raise ConflictError("zero_amount", "An invoice needs an amount", {"amount": 0})
    identity = context.identity
    invoice = Invoice(
        id=len(STORE) + 1,
        customer=payload.customer,
        amount=payload.amount,
        caller=identity.subject if identity else "?",
        request_id=context.headers.get("x-request-id"),
    )
    STORE[invoice.id] = invoice
    return wrap_http_success(invoice)


async def get_invoice(
    *,
    invoice_id: int,
    verbose: bool = False,
    x_tenant: Annotated[str, Header()] = "none",
) -> dict[str, Any]:
    if invoice_id not in STORE:
        raise NotFoundError("invoice_not_found", f"Invoice {invoice_id} does not exist")
    return {"id": invoice_id, "verbose": verbose, "tenant": x_tenant}


async def search(*, tags: list[str], limit: int = 10) -> list[str]:
    return [*tags, str(limit)]


async def delete_invoice(*, invoice_id: int) -> None:
    STORE.pop(invoice_id, None)


CREATE = HttpRouteSpec(
    method="POST",
    path="/invoices",
    name="invoices.create",
    category="invoices",
    handler=create_invoice,
    status_code=201,
    response_model=HttpSuccessEnvelope[Invoice],
    auth=ServiceAuth(),
)
GET = HttpRouteSpec(
    method="GET",
    path="/invoices/{invoice_id}",
    name="invoices.get",
    category="invoices",
    handler=get_invoice,
    response_model=dict[str, Any],
)
SEARCH = HttpRouteSpec(
    method="GET",
    path="/search",
    name="search",
    category="invoices",
    handler=search,
    response_model=list[str],
)
DELETE = HttpRouteSpec(
    method="DELETE",
    path="/invoices/{invoice_id}",
    name="invoices.delete",
    category="invoices",
    handler=delete_invoice,
    status_code=204,
)
ROUTES = (CREATE, GET, SEARCH, DELETE)


async def _serve(app: Any) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, what="uvicorn started")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 5)


@pytest.fixture
async def base_url(framework: str) -> AsyncIterator[str]:
    app = build_app(framework, ROUTES, HttpRouterConfig(services={ServiceAuthVerifier: VERIFIER}))
    async for url in _serve(app):
        yield url


async def test_typed_calls_against_a_real_server(base_url: str) -> None:
    customer = uuid.uuid4()
    async with ServiceHttpClient(base_url, signer=SIGNER, audience="billing") as client:
        token = mic_context.correlation_id.set("req-42")
        try:
            created = await client.call(CREATE, payload={"customer": str(customer), "amount": 5})
        finally:
            mic_context.correlation_id.reset(token)
        assert isinstance(created, HttpSuccessEnvelope)
        invoice = created.data
        assert isinstance(invoice, Invoice)
        assert (invoice.customer, invoice.caller, invoice.request_id) == (
            customer,
            "orders",
            "req-42",
        )
        again = await client.call(CREATE, payload=CreateInvoice(customer=customer, amount=6))
        assert again.data.amount == 6
        fetched = await client.call(GET, invoice_id=invoice.id, verbose=True, x_tenant="acme")
        assert fetched == {"id": invoice.id, "verbose": True, "tenant": "acme"}
        assert await client.call(SEARCH, tags=["a", "b"], limit=3) == ["a", "b", "3"]
        assert await client.call(DELETE, invoice_id=invoice.id) is None
        with pytest.raises(NotFoundError, match=f"Invoice {invoice.id} does not exist") as raised:
            await client.call(GET, invoice_id=invoice.id)
        assert raised.value.code == "invoice_not_found"
        with pytest.raises(ConflictError, match="needs an amount") as conflict:
            await client.call(CREATE, payload={"customer": str(customer), "amount": 0})
        assert conflict.value.details == {"amount": 0}


async def test_unsigned_call_is_refused_by_the_real_server(base_url: str) -> None:
    async with ServiceHttpClient(base_url) as client:
        with pytest.raises(UnauthorizedError, match="needs a service token") as raised:
            await client.call(CREATE, payload={"customer": str(uuid.uuid4()), "amount": 1})
    assert raised.value.code == "missing_credentials"


async def test_connection_refused_is_transient() -> None:
    from mic.model import TransientError
    from mic.resilience import RetryPolicy

    url = f"http://127.0.0.1:{free_port()}"
    async with ServiceHttpClient(
        url, retry=RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0)
    ) as client:
        with pytest.raises(TransientError, match="ConnectError") as raised:
            await client.get("/x")
    assert raised.value.code == "upstream_unavailable"


def test_sync_twin_against_a_real_server() -> None:
    async def main() -> None:
        app = build_app(
            "fastapi", ROUTES, HttpRouterConfig(services={ServiceAuthVerifier: VERIFIER})
        )
        async for url in _serve(app):
            await asyncio.to_thread(_sync_calls, url)

    asyncio.run(main())


def _sync_calls(url: str) -> None:
    token = mic_context.correlation_id.set("sync-1")
    try:
        with SyncServiceHttpClient(url, signer=SIGNER, audience="billing") as client:
            created = client.call(CREATE, payload={"customer": str(uuid.uuid4()), "amount": 3})
            assert created.data.request_id == "sync-1"
            assert client.get(f"/invoices/{created.data.id}").json()["id"] == created.data.id
            with pytest.raises(UpstreamServiceError, match="not allowed") as raised:
                client.post("/search")  # not a route: 405, which no DomainError stands for
            assert raised.value.upstream_status == 405
            with pytest.raises(NotFoundError, match="does not exist"):
                client.call(GET, invoice_id=10_000)
        client.close()  # closing twice is harmless
    finally:
        mic_context.correlation_id.reset(token)


# --- request building and validation, without a server --------------------------------------


def _mock(answer: httpx.Response, seen: list[httpx.Request]) -> ServiceHttpClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    return ServiceHttpClient("http://billing", transport=httpx.MockTransport(handler))


async def test_invalid_values_are_refused_before_sending() -> None:
    seen: list[httpx.Request] = []
    async with _mock(httpx.Response(200, json={}), seen) as client:
        with pytest.raises(ValidationFailedError, match="does not fit its contract") as raised:
            await client.call(CREATE, payload={"customer": "not-a-uuid", "amount": "5"})
        locations = [e["loc"] for e in raised.value.details["errors"]]
        assert locations == [["body", "customer"], ["body", "amount"]]
        with pytest.raises(ValidationFailedError, match="contract") as missing:
            await client.call(GET)
        assert missing.value.details["errors"][0]["loc"] == ["path", "invoice_id"]
        with pytest.raises(ValidationFailedError, match="contract") as wrong:
            await client.call(GET, invoice_id="seven")
        assert wrong.value.details["errors"][0]["loc"][:2] == ["path", "invoice_id"]
        with pytest.raises(ValidationFailedError, match="contract"):
            await client.call(CREATE)
    assert seen == []


async def test_programming_errors_are_type_errors() -> None:
    seen: list[httpx.Request] = []
    async with _mock(httpx.Response(200, json={}), seen) as client:
        with pytest.raises(TypeError, match=r"no parameter\(s\) \['nope'\]"):
            await client.call(GET, invoice_id=1, nope=2)
        with pytest.raises(TypeError, match="takes no request body"):
            await client.call(GET, invoice_id=1, payload={"a": 1})


async def test_path_values_are_escaped() -> None:
    async def echo(*, name: str) -> str:
        return name

    route = HttpRouteSpec(method="GET", path="/names/{name}", name="n", category="n", handler=echo)
    seen: list[httpx.Request] = []
    async with _mock(httpx.Response(200, json="x"), seen) as client:
        assert await client.call(route, name="a/b c") == "x"
    assert seen[0].url.raw_path == b"/names/a%2Fb%20c"


async def test_answer_not_fitting_the_contract_is_an_upstream_error() -> None:
    seen: list[httpx.Request] = []
    async with _mock(httpx.Response(200, json={"unexpected": True}), seen) as client:
        with pytest.raises(UpstreamServiceError, match="does not fit its contract") as raised:
            await client.call(SEARCH, tags=["a"])
        assert raised.value.details["errors"][0]["loc"] == ["response"]
    async with _mock(httpx.Response(200, content=b"{nope"), seen) as client:
        with pytest.raises(UpstreamServiceError, match="contract"):
            await client.call(SEARCH, tags=["a"])


class Note(StrictSchema):
    text: str


async def note(*, session: Annotated[str, Cookie()], body: Note | None = None) -> None:
    return None


async def test_optional_body_and_cookie_parameters() -> None:
    route = HttpRouteSpec(method="PUT", path="/note", name="note", category="n", handler=note)
    seen: list[httpx.Request] = []
    async with _mock(httpx.Response(204), seen) as client:
        assert await client.call(route, session="s1") is None
        assert await client.call(route, session="s1", payload={"text": "hi"}) is None
    assert seen[0].headers["cookie"] == "session=s1"
    assert (seen[0].content, seen[1].content) == (b"", b'{"text":"hi"}')
    assert seen[1].headers["content-type"] == "application/json"


# --- review hardening (issue 3) -------------------------------------------------------


async def _echo_name(*, name: str) -> str:
    return name


async def _echo_header(*, x_tenant: Annotated[str, Header()]) -> str:
    return x_tenant


async def _echo_cookie(*, session: Annotated[str, Cookie()]) -> str:
    return session


NAME = HttpRouteSpec(
    method="GET", path="/names/{name}", name="name", category="n", handler=_echo_name
)
TENANT = HttpRouteSpec(
    method="GET", path="/tenant", name="tenant", category="n", handler=_echo_header
)
SESSION = HttpRouteSpec(
    method="GET", path="/session", name="session", category="n", handler=_echo_cookie
)


@pytest.mark.parametrize(
    ("route", "values", "location"),
    [
        (NAME, {"name": ".."}, ["path", "name"]),  # /names/.. would be normalised to /
        (NAME, {"name": "."}, ["path", "name"]),  # /names/. would be /names/
        (NAME, {"name": ""}, ["path", "name"]),  # /names/ would hit another route
        (TENANT, {"x_tenant": "acme\r\nX-Admin: 1"}, ["header", "x-tenant"]),
        (TENANT, {"x_tenant": "café"}, ["header", "x-tenant"]),
        (SESSION, {"session": "s1; admin=1"}, ["cookie", "session"]),
        (SESSION, {"session": "naïve"}, ["cookie", "session"]),
        (CREATE, {"payload": {"customer": object(), "amount": 1}}, ["body"]),
    ],
)
async def test_values_that_would_change_on_the_wire_are_refused_before_sending(
    route: HttpRouteSpec, values: dict[str, Any], location: list[str]
) -> None:
    """A value the URL, header or cookie syntax would rewrite is a 422 here, not a detour."""
    seen: list[httpx.Request] = []
    async with _mock(httpx.Response(200, json="x"), seen) as client:
        with pytest.raises(ValidationFailedError, match="does not fit its contract") as raised:
            await client.call(route, **values)
    assert raised.value.details["errors"][0]["loc"] == location
    assert seen == []


async def test_ordinary_values_still_go_through() -> None:
    seen: list[httpx.Request] = []
    async with _mock(httpx.Response(200, json="x"), seen) as client:
        await client.call(NAME, name="a.b..c")
        await client.call(TENANT, x_tenant="acme corp\tEU")
        await client.call(TENANT, x_tenant="")
        await client.call(SESSION, session="abc-123_=")
    assert seen[0].url.raw_path == b"/names/a.b..c"
    assert (seen[1].headers["x-tenant"], seen[2].headers["x-tenant"]) == ("acme corp\tEU", "")
    assert seen[3].headers["cookie"] == "session=abc-123_="

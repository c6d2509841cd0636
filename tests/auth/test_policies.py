"""Route auth policies, enforced the same way by both adapters, and documented in OpenAPI."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mic.auth import (
    ApiKeyAuth,
    ApiKeyStore,
    CustomAuth,
    InMemoryApiKeyStore,
    ServiceAuth,
    ServiceAuthSigner,
    ServiceAuthVerifier,
)
from mic.http import (
    HttpRequestContext,
    HttpRouterConfig,
    HttpRouteSpec,
    Identity,
    RouteSpecError,
    SecurityRequirement,
)
from mic.model import ForbiddenError
from tests.auth.keys import key
from tests.support import build_app, make_client, served_openapi

SIGNER = ServiceAuthSigner(issuer="orders", keys=key("EdDSA"))
OTHER_SIGNER = ServiceAuthSigner(issuer="audit", keys=key("EdDSA", "k2"))
VERIFIER = ServiceAuthVerifier(
    audience="billing", issuers=["orders", "audit"], keys=[key("EdDSA"), key("EdDSA", "k2")]
)


async def whoami(*, context: HttpRequestContext) -> dict[str, Any]:
    identity = context.identity
    assert identity is not None
    return {"subject": identity.subject, "kind": identity.kind, "issuer": identity.issuer,
            "scopes": sorted(identity.scopes)}  # fmt: skip


async def public() -> dict[str, str]:
    return {"ok": "yes"}


def routes(auth: Any) -> tuple[HttpRouteSpec, ...]:
    return (
        HttpRouteSpec(method="GET", path="/me", name="me", category="t", handler=whoami, auth=auth),
        HttpRouteSpec(method="GET", path="/public", name="public", category="t", handler=public),
    )


def service_config() -> HttpRouterConfig:
    return HttpRouterConfig(services={ServiceAuthVerifier: VERIFIER})


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_service_token_reaches_the_handler(framework: str) -> None:
    auth = ServiceAuth(scopes=["invoices:read"])
    async with make_client(framework, routes(auth), service_config()) as client:
        token = SIGNER.sign("billing", scopes=["invoices:read", "x"])
        response = await client.get("/me", headers=bearer(token))
        assert response.status_code == 200
        assert response.json() == {"subject": "orders", "kind": "service", "issuer": "orders",
                                   "scopes": ["invoices:read", "x"]}  # fmt: skip
        assert (await client.get("/public")).status_code == 200


@pytest.mark.parametrize(
    ("headers", "code", "challenge"),
    [
        ({}, "missing_credentials", "Bearer"),
        ({"authorization": "Basic dTpw"}, "wrong_auth_scheme", "Bearer"),
        ({"authorization": "Bearer"}, "malformed_credentials", 'Bearer error="invalid_request"'),
        (
            {"authorization": "Bearer a b"},
            "malformed_credentials",
            'Bearer error="invalid_request"',
        ),
        ({"authorization": "Bearer not-a-jwt"}, "token_malformed", 'Bearer error="invalid_token"'),
    ],
)
async def test_missing_or_malformed_credentials_are_401(
    framework: str, headers: dict[str, str], code: str, challenge: str
) -> None:
    async with make_client(framework, routes(ServiceAuth()), service_config()) as client:
        response = await client.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert response.headers["www-authenticate"].startswith(challenge)


async def test_expired_token_is_401_expired(framework: str) -> None:
    expired = ServiceAuthSigner(issuer="orders", keys=key("EdDSA"), clock=lambda: 1_000_000.0)
    async with make_client(framework, routes(ServiceAuth()), service_config()) as client:
        response = await client.get("/me", headers=bearer(expired.sign("billing")))
    assert (response.status_code, response.json()["code"]) == (401, "token_expired")
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="The token has expired"'
    )


async def test_wrong_audience_is_401(framework: str) -> None:
    async with make_client(framework, routes(ServiceAuth()), service_config()) as client:
        response = await client.get("/me", headers=bearer(SIGNER.sign("shipping")))
    assert (response.status_code, response.json()["code"]) == (401, "token_wrong_audience")


async def test_missing_scope_is_403(framework: str) -> None:
    auth = ServiceAuth(scopes=["invoices:write", "invoices:read"])
    async with make_client(framework, routes(auth), service_config()) as client:
        token = SIGNER.sign("billing", scopes=["invoices:read"])
        response = await client.get("/me", headers=bearer(token))
    assert response.status_code == 403
    body = response.json()
    assert (body["code"], body["details"]["missing_scopes"]) == ("insufficient_scope",
                                                                  ["invoices:write"])  # fmt: skip
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="invoices:read invoices:write"'
    )


async def test_issuer_not_allowed_on_the_route_is_403(framework: str) -> None:
    async with make_client(framework, routes(ServiceAuth(issuers=["orders"])),
                           service_config()) as client:  # fmt: skip
        assert (await client.get("/me", headers=bearer(SIGNER.sign("billing")))).status_code == 200
        response = await client.get("/me", headers=bearer(OTHER_SIGNER.sign("billing")))
    assert (response.status_code, response.json()["code"]) == (403, "issuer_not_allowed")


async def test_prefixed_router_still_enforces(framework: str) -> None:
    async with make_client(framework, routes(ServiceAuth()), service_config(),
                           prefix="/v1") as client:  # fmt: skip
        assert (await client.get("/v1/me")).status_code == 401
        response = await client.get("/v1/me", headers=bearer(SIGNER.sign("billing")))
        assert response.status_code == 200


@pytest.mark.parametrize("auth", [ServiceAuth(), ApiKeyAuth()])
def test_no_verifier_or_store_refuses_to_build(framework: str, auth: Any) -> None:
    with pytest.raises(RouteSpecError, match="route 'me' requires"):
        build_app(framework, routes(auth), HttpRouterConfig())


def test_issuer_unknown_to_the_verifier_refuses_to_build(framework: str) -> None:
    with pytest.raises(RouteSpecError, match=r"allows issuers \['mallory'\]"):
        build_app(framework, routes(ServiceAuth(issuers=["mallory"])), service_config())


def test_policy_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="refuse every caller"):
        ServiceAuth(issuers=[])
    with pytest.raises(ValueError, match="scope token"):
        ServiceAuth(scopes=["a b"])
    with pytest.raises(ValueError, match="plain header name"):
        ApiKeyAuth(header="X Key")
    with pytest.raises(TypeError, match="async callable"):
        CustomAuth("nope")  # type: ignore[arg-type]


def test_reprs_name_the_policy() -> None:
    assert repr(ServiceAuth(issuers=["b", "a"], scopes=["s"])) == (
        "ServiceAuth(issuers=['a', 'b'], scopes=['s'])"
    )
    assert repr(ServiceAuth()) == "ServiceAuth(issuers=None, scopes=[])"
    assert repr(ApiKeyAuth(scopes=["s"])) == "ApiKeyAuth(scopes=['s'], header='X-API-Key')"
    assert repr(CustomAuth(_check_header)).startswith("CustomAuth(<function _check_header")


# --- API keys ------------------------------------------------------------------------------


async def test_api_key_route(framework: str) -> None:
    store = InMemoryApiKeyStore()
    good = await store.create("partner", scopes=["reports"])
    weak = await store.create("intern")
    revoked = await store.create("gone", scopes=["reports"])
    await store.revoke(revoked.key.key_id)
    config = HttpRouterConfig(services={ApiKeyStore: store})
    async with make_client(framework, routes(ApiKeyAuth(scopes=["reports"])), config) as client:
        response = await client.get("/me", headers={"x-api-key": good.secret})
        assert response.json() == {"subject": good.key.key_id, "kind": "api_key",
                                   "issuer": None, "scopes": ["reports"]}  # fmt: skip
        missing = await client.get("/me")
        assert (missing.status_code, missing.json()["code"]) == (401, "missing_credentials")
        assert missing.headers["www-authenticate"] == 'ApiKey header="X-API-Key"'
        for secret in (revoked.secret, "mic_nope", good.secret + "x"):
            response = await client.get("/me", headers={"x-api-key": secret})
            assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")
        twice = await client.get("/me", headers=[("x-api-key", good.secret)] * 2)
        assert twice.status_code == 401
        response = await client.get("/me", headers={"x-api-key": weak.secret})
        assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")


# --- custom checks -------------------------------------------------------------------------


async def _check_header(context: HttpRequestContext) -> Identity | None:
    user = context.headers.get("x-user")
    if user == "banned":
        raise ForbiddenError("banned", "This user is banned")
    if user is None:
        return None
    return Identity(subject=user, kind="custom", scopes=frozenset({"admin"} if user == "root"
                                                                   else ()))  # fmt: skip


async def test_custom_check(framework: str) -> None:
    auth = CustomAuth(_check_header, scopes=["admin"], challenge='Custom realm="t"')
    async with make_client(framework, routes(auth)) as client:
        assert (await client.get("/me", headers={"x-user": "root"})).json()["subject"] == "root"
        missing = await client.get("/me")
        assert (missing.status_code, missing.headers["www-authenticate"]) == (
            401, 'Custom realm="t"')  # fmt: skip
        assert (await client.get("/me", headers={"x-user": "bob"})).status_code == 403
        banned = await client.get("/me", headers={"x-user": "banned"})
        assert (banned.status_code, banned.json()["code"]) == (403, "banned")


# --- OpenAPI -------------------------------------------------------------------------------


def _openapi(framework: str, auth: Any, config: HttpRouterConfig) -> dict[str, Any]:
    return served_openapi(build_app(framework, routes(auth), config))


@pytest.mark.parametrize(
    ("auth", "name", "scheme"),
    [
        (ServiceAuth(scopes=["a"]), "serviceToken",
         {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
        (ApiKeyAuth(scopes=["a"], header="X-Key"), "apiKey",
         {"type": "apiKey", "in": "header", "name": "X-Key"}),
        (CustomAuth(_check_header, scopes=["a"], security=SecurityRequirement(
            "userHeader", {"type": "apiKey", "in": "header", "name": "X-User"}, ("a",))),
         "userHeader", {"type": "apiKey", "in": "header", "name": "X-User"}),
    ],
)  # fmt: skip
def test_openapi_shows_the_security_scheme(
    framework: str, auth: Any, name: str, scheme: dict[str, str]
) -> None:
    config = HttpRouterConfig(
        services={ServiceAuthVerifier: VERIFIER, ApiKeyStore: InMemoryApiKeyStore()}
    )
    document = _openapi(framework, auth, config)
    assert document["components"]["securitySchemes"][name] == scheme
    operation = document["paths"]["/me"]["get"]
    assert operation["security"] == [{name: ["a"]}]
    assert {"401", "403"} <= set(operation["responses"])
    assert "security" not in document["paths"]["/public"]["get"]


def test_openapi_of_custom_check_without_scheme_shows_only_errors() -> None:
    auth = CustomAuth(_check_header)
    assert auth.openapi_security() is None
    assert dict(auth.openapi_errors()) == {401: "Not authenticated"}


# --- review hardening (issue 3) -------------------------------------------------------


async def test_deeply_nested_token_is_401_not_500(framework: str) -> None:
    nested = b'{"alg":"EdDSA","kid":"k1","x":' + b"[" * 3000 + b"]" * 3000 + b"}"
    token = base64.urlsafe_b64encode(nested).rstrip(b"=").decode() + ".e30.c2ln"
    async with make_client(framework, routes(ServiceAuth()), service_config()) as client:
        response = await client.get("/me", headers=bearer(token))
    assert (response.status_code, response.json()["code"]) == (401, "token_malformed")
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


@pytest.mark.parametrize("auth", [ServiceAuth(), ApiKeyAuth()])
def test_app_wide_auth_without_verifier_or_store_refuses_to_build(
    framework: str, auth: Any
) -> None:
    """An app-wide policy fails closed too, naming the first route it would guard."""
    config = HttpRouterConfig(interceptors=(auth,))
    with pytest.raises(RouteSpecError, match="route 'me' requires"):
        build_app(framework, routes(None), config, prefix="/v1")


@pytest.mark.parametrize("auth", [ServiceAuth(), ApiKeyAuth()])
def test_prefixed_router_without_verifier_or_store_refuses_to_build(
    framework: str, auth: Any
) -> None:
    if framework == "fastapi":
        from mic.fastapi import build_fastapi_router as build_router
    else:
        from mic.litestar import build_litestar_router as build_router
    with pytest.raises(RouteSpecError, match="route 'me' requires"):
        build_router(routes=routes(auth), config=HttpRouterConfig(), prefix="/v1")


async def test_app_wide_service_auth_guards_every_route(framework: str) -> None:
    config = HttpRouterConfig(services={ServiceAuthVerifier: VERIFIER},
                              interceptors=(ServiceAuth(),))  # fmt: skip
    async with make_client(framework, routes(None), config, prefix="/v1") as client:
        assert (await client.get("/v1/public")).status_code == 401
        assert (await client.head("/v1/me")).status_code == 401
        response = await client.get("/v1/me", headers=bearer(SIGNER.sign("billing")))
    assert response.json()["subject"] == "orders"


def test_api_key_store_under_its_concrete_class_says_how_to_register_it(framework: str) -> None:
    config = HttpRouterConfig(services={InMemoryApiKeyStore: InMemoryApiKeyStore()})
    with pytest.raises(RouteSpecError, match=r"services=\{ApiKeyStore: store\}"):
        build_app(framework, routes(ApiKeyAuth()), config)


def test_service_auth_issuers_as_one_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not one string"):
        ServiceAuth(issuers="orders")

"""The demo's route policies: item reads are cached (ETag, 304, invalidated by writes) and the
cache purge needs an operator token (RBAC), the same on both frameworks."""

from __future__ import annotations

import uuid

from examples.service import AUDIENCE, build_service

from mic.auth import ServiceAuthSigner, ServiceKey
from mic.testing import app_client, memory_settings

KEY = ServiceKey.hmac("demo", b"k" * 32)


def token(*roles: str) -> dict[str, str]:
    signed = ServiceAuthSigner(issuer="operator", keys=KEY).sign(
        AUDIENCE, claims={"roles": list(roles)}
    )
    return {"authorization": f"Bearer {signed}"}


async def test_reads_are_cached_and_writes_invalidate(framework: str) -> None:
    service = build_service(memory_settings(), new_id=lambda: uuid.UUID(int=1), operator_key=KEY)
    app = service.build_app(framework)
    path = f"/items/{uuid.UUID(int=1)}"
    async with app_client(app) as client:
        await client.post("/items", json={"name": "bolt", "quantity": 3})
        first = await client.get(path)
        etag = first.headers["etag"]
        assert 304 == (await client.get(path, headers={"if-none-match": etag})).status_code
        await client.put(path, json={"name": "bolt", "quantity": 4, "version": 1})
        fresh = await client.get(path, headers={"if-none-match": etag})
        assert (200, 4) == (fresh.status_code, fresh.json()["data"]["quantity"])
        listed = await client.get("/items")
        assert 4 == listed.json()["data"][0]["quantity"]


async def test_cache_purge_needs_the_operator_role(framework: str) -> None:
    app = build_service(memory_settings(), operator_key=KEY).build_app(framework)
    async with app_client(app) as client:
        assert 401 == (await client.post("/admin/cache/purge")).status_code
        assert 403 == (await client.post("/admin/cache/purge", headers=token("viewer"))).status_code
        assert (
            204 == (await client.post("/admin/cache/purge", headers=token("operator"))).status_code
        )

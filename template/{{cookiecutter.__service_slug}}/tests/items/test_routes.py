"""The items API over HTTP: status codes, headers and problem+json answers."""

from __future__ import annotations

import httpx
import pytest

PROBLEM_JSON = "application/problem+json"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


async def test_crud_flow(client: httpx.AsyncClient) -> None:
    created = await client.post("/items", json={"name": "bolt", "quantity": 3})
    assert created.status_code == 201
    item = created.json()["data"]
    assert f"/items/{item['id']}" == created.headers["location"]
    assert {k: item[k] for k in ("name", "quantity")} == {"name": "bolt", "quantity": 3}

    assert item == (await client.get(f"/items/{item['id']}")).json()["data"]
    listed = (await client.get("/items")).json()
    assert {"success": True, "data": [item], "meta": {"offset": 0, "limit": 20}} == listed

    replaced = await client.put(f"/items/{item['id']}", json={"name": "nut", "quantity": 1})
    assert {**item, "name": "nut", "quantity": 1} == replaced.json()["data"]

    deleted = await client.delete(f"/items/{item['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (await client.get(f"/items/{item['id']}")).status_code == 404


async def test_a_duplicate_name_is_a_409_problem(client: httpx.AsyncClient) -> None:
    await client.post("/items", json={"name": "bolt"})
    answer = await client.post("/items", json={"name": "bolt"})
    assert (answer.status_code, answer.headers["content-type"]) == (409, PROBLEM_JSON)
    assert answer.json()["code"] == "item_name_taken"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/items/{UNKNOWN}", None),
        ("PUT", f"/items/{UNKNOWN}", {"name": "bolt"}),
        ("DELETE", f"/items/{UNKNOWN}", None),
    ],
)
async def test_unknown_items_are_404_problems(
    client: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    answer = await client.request(method, path, json=body)
    assert (answer.status_code, answer.headers["content-type"]) == (404, PROBLEM_JSON)
    assert answer.json()["code"] == "item_not_found"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/items", {"name": ""}),
        ("POST", "/items", {"name": "bolt", "quantity": -1}),
        ("POST", "/items", {"name": "bolt", "extra": True}),
        ("GET", "/items/not-a-uuid", None),
        ("GET", "/items?limit=0", None),
        ("GET", "/items?limit=101", None),
        ("GET", "/items?offset=-1", None),
    ],
)
async def test_invalid_requests_are_422_problems(
    client: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    answer = await client.request(method, path, json=body)
    assert (answer.status_code, answer.headers["content-type"]) == (422, PROBLEM_JSON)

"""The README quick start (examples/quickstart_*.py) works as written, on both frameworks."""

from __future__ import annotations

from examples import quickstart_fastapi, quickstart_litestar
from tests.support import client_for, wire


async def test_quickstart_answers_the_same_on_both_frameworks() -> None:
    answers = []
    for app in (quickstart_fastapi.app, quickstart_litestar.app):
        async with client_for(app) as client:
            answers.append([wire(await client.post("/items", json={"name": "bolt", "quantity": 2})),
                            wire(await client.post("/items", json={"quantity": 2}))])  # fmt: skip
    assert answers[0] == answers[1]
    created, invalid = answers[0]
    assert (created[0], created[2]) == (
        201,
        b'{"success":true,"data":{"name":"bolt","qty":2},"meta":null}',
    )
    assert invalid[0] == 422


async def test_quickstart_publishes_openapi_at_the_usual_places() -> None:
    async with client_for(quickstart_fastapi.app) as client:
        fastapi_doc = (await client.get("/openapi.json")).json()
    async with client_for(quickstart_litestar.app) as client:
        litestar_doc = (await client.get("/schema/openapi.json")).json()
    for document in (fastapi_doc, litestar_doc):
        operation = document["paths"]["/items"]["post"]
        assert operation["operationId"] == "items.create"
        # The spec does not declare status_code=201, so the docs show the default 200.
        assert {"200", "400", "413", "415", "422"} == set(operation["responses"])
        assert "requestBody" in operation

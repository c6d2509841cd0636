"""The spec's quick start, verbatim: define a route, plug it into FastAPI."""

from fastapi import FastAPI

from mic.contracts import StrictSchema, wrap_http_success
from mic.fastapi import build_fastapi_router
from mic.http import HttpResponseSpec, HttpRouteSpec


class CreateItemPayload(StrictSchema):
    name: str
    quantity: int = 0


def _create_item(*, payload: CreateItemPayload) -> HttpResponseSpec:
    return HttpResponseSpec(
        status_code=201,
        body=wrap_http_success({"name": payload.name, "qty": payload.quantity}),
    )


routes = (
    HttpRouteSpec(
        method="POST",
        path="/items",
        name="items.create",
        category="items",
        handler=_create_item,
    ),
)

app = FastAPI()
app.include_router(build_fastapi_router(routes=routes))

"""Specs that cannot work fail when the router is built, naming the route and the parameter."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from mic.http import (
    Cookie,
    Header,
    HttpRouteSpec,
    Path,
    Query,
    RouteSpecError,
    build_openapi,
    compile_routes,
)
from tests.support import build_app


class A(BaseModel):
    a: int


class B(BaseModel):
    b: int


def _route(
    handler: Any, path: str = "/x", method: str | tuple[str, ...] = "GET", name: str = "r"
) -> HttpRouteSpec:
    return HttpRouteSpec(method=method, path=path, name=name, category="c", handler=handler)


async def two_bodies(*, first: A, second: B) -> None: ...
async def positional(item: int) -> None: ...
async def unannotated(*, item) -> None: ...  # type: ignore[no-untyped-def]
async def dict_query(*, filters: dict[str, str]) -> None: ...
async def model_list(*, rows: list[A]) -> None: ...
async def list_path(*, ids: list[int]) -> None: ...
async def list_cookie(*, c: Annotated[list[str], Cookie()]) -> None: ...
async def path_default(*, item_id: int = 3) -> None: ...
async def stray_path(*, other: Annotated[int, Path()]) -> None: ...
async def header_on_placeholder(*, item_id: Annotated[int, Header()]) -> None: ...
async def two_markers(*, q: Annotated[int, Query(), Header()]) -> None: ...
async def var_kwargs(**kwargs: int) -> None: ...
async def unresolvable(*, q: Missing) -> None: ...  # type: ignore[name-defined]  # noqa: F821
async def fine(*, item_id: int) -> None: ...


@pytest.mark.parametrize(
    ("handler", "path", "message"),
    [
        (
            two_bodies,
            "/x",
            r"route 'r', parameter 'second': a second body model \(the body is 'first'\)",
        ),
        (positional, "/x", r"route 'r', parameter 'item': handler parameters must be keyword-only"),
        (unannotated, "/x", r"route 'r', parameter 'item': missing type annotation"),
        (dict_query, "/x", r"route 'r', parameter 'filters': unsupported annotation"),
        (model_list, "/x", r"route 'r', parameter 'rows': unsupported annotation"),
        (
            list_path,
            "/x/{ids}",
            r"route 'r', parameter 'ids': a path parameter cannot be a sequence",
        ),
        (list_cookie, "/x", r"route 'r', parameter 'c': a cookie parameter cannot be a sequence"),
        (
            path_default,
            "/x/{item_id}",
            r"route 'r', parameter 'item_id': a path parameter cannot have a default",
        ),
        (
            stray_path,
            "/x",
            r"route 'r', parameter 'other': is marked Path\(\) but the path has no such",
        ),
        (
            header_on_placeholder,
            "/x/{item_id}",
            r"parameter 'item_id': matches a path placeholder but is marked as header",
        ),
        (two_markers, "/x", r"parameter 'q': more than one of Query/Header/Cookie/Path"),
        (var_kwargs, "/x", r"parameter 'kwargs': handler parameters must be keyword-only"),
        (unresolvable, "/x", r"route 'r': cannot read the handler signature"),
        (
            fine,
            "/x/{item_id}/{other}",
            r"route 'r': path placeholder\(s\) \['other'\] have no handler parameter",
        ),
    ],
)
@pytest.mark.parametrize("builder", ["core", "openapi", "fastapi", "litestar"])
def test_unservable_specs_fail_at_build_time(
    handler: Any, path: str, message: str, builder: str
) -> None:
    routes = (_route(handler, path),)
    builders = {"core": compile_routes, "openapi": build_openapi}
    build = builders.get(builder, lambda r: build_app(builder, r))
    with pytest.raises(RouteSpecError, match=message):
        build(routes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "FETCH"}, r"route 'r': unsupported method\(s\) \['FETCH'\]"),
        ({"method": ()}, r"route 'r': unsupported method\(s\) \(\)"),
        ({"path": "items"}, r"route 'r': path 'items' must start with '/'"),
        ({"path": "/items/{item-id}"}, r"path placeholder \{item-id\} must be an identifier"),
        ({"name": ""}, r"a route needs a non-empty name"),
        ({"handler": "not callable"}, r"route 'r': handler is not callable"),
        ({"status_code": 99}, r"route 'r': status_code 99 is invalid"),
        ({"status_code": 101}, r"route 'r': status_code 101 is invalid"),
        ({"max_body_size": -1}, r"route 'r': max_body_size must be >= 0"),
    ],
)
def test_invalid_route_specs_are_rejected_on_construction(
    kwargs: dict[str, Any], message: str
) -> None:
    values: dict[str, Any] = {
        "method": "GET",
        "path": "/x",
        "name": "r",
        "category": "c",
        "handler": fine,
    }
    values.update(kwargs)
    with pytest.raises(RouteSpecError, match=message):
        HttpRouteSpec(**values)


def test_methods_are_normalized_and_deduplicated() -> None:
    route = HttpRouteSpec(
        method=("get", "GET", "post"), path="/x", name="r", category="c", handler=fine
    )
    assert route.methods == ("GET", "POST")
    assert (
        HttpRouteSpec(method="get", path="/x", name="r", category="c", handler=fine).method == "GET"
    )


def test_duplicate_names_and_endpoints_are_rejected() -> None:
    async def h() -> None: ...

    with pytest.raises(RouteSpecError, match="two routes are named 'r'"):
        compile_routes((_route(h, "/a"), _route(h, "/b")))
    with pytest.raises(RouteSpecError, match="two routes serve GET /a"):
        compile_routes(
            (_route(h, "/a", name="one"), _route(h, "/a", method=("GET", "PUT"), name="two"))
        )


@pytest.mark.parametrize("prefix", ["v1", "/v1/"])
def test_prefix_must_be_a_clean_path(prefix: str) -> None:
    async def h() -> None: ...

    with pytest.raises(RouteSpecError, match="must start with '/' and not end with '/'"):
        compile_routes((_route(h),), prefix=prefix)

"""The docs page and its assets: served from the installed package, the same on both frameworks."""

from __future__ import annotations

import sys

import pytest

from mic import MissingDependencyError
from mic.http import ApiDocs, build_openapi
from mic.http import _docs as docs_module
from tests.http.routes import item_routes
from tests.support import client_for, make_client, wire

ASSETS = {
    "/docs": "text/html; charset=utf-8",
    "/docs/swagger-initializer.js": "text/javascript; charset=utf-8",
    "/docs/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "/docs/swagger-ui.css": "text/css; charset=utf-8",
    "/docs/favicon-32x32.png": "image/png",
}


async def test_docs_page_and_assets_are_the_same_bytes_on_both_frameworks() -> None:
    answers = []
    for framework in ("fastapi", "litestar"):
        async with make_client(framework, item_routes()) as client:
            answers.append([wire(await client.get(path)) for path in ASSETS])
    assert answers[0] == answers[1]
    for (status, headers, body), media_type in zip(answers[0], ASSETS.values(), strict=True):
        assert (200, media_type) == (status, dict(headers)["content-type"])
        assert body


async def test_the_page_points_at_local_assets_and_the_document(framework: str) -> None:
    async with make_client(framework, item_routes()) as client:
        page = (await client.get("/docs")).text
        initializer = (await client.get("/docs/swagger-initializer.js")).text
    assert '<script src="docs/swagger-ui-bundle.js"></script>' in page
    assert '<link rel="stylesheet" href="docs/swagger-ui.css">' in page
    assert "http" not in page
    assert 'SwaggerUIBundle({"url": "openapi.json", "dom_id": "#swagger-ui"' in initializer


async def test_docs_paths_answer_head_options_and_405_like_routes(framework: str) -> None:
    async with make_client(framework, item_routes()) as client:
        head = await client.head("/docs/swagger-ui.css")
        options = await client.options("/openapi.json")
        post = await client.post("/openapi.json")
    assert (200, b"") == (head.status_code, head.content)
    assert int(head.headers["content-length"]) > 1000
    assert (204, "GET, HEAD, OPTIONS") == (options.status_code, options.headers["allow"])
    assert (405, "GET, HEAD, OPTIONS", "application/problem+json") == (
        post.status_code,
        post.headers["allow"],
        post.headers["content-type"],
    )


def test_docs_page_title_is_escaped_and_a_page_can_be_left_out() -> None:
    docs = ApiDocs({"info": {"title": "<Items & co>"}})
    assert b"<title>&lt;Items &amp; co&gt; - API docs</title>" in docs.docs_html()
    without = ApiDocs(build_openapi(item_routes()), docs_url=None, openapi_url="/api.json")
    assert (b"", ["/api.json"]) == (
        without.docs_html(),
        sorted({e.path for e in without.endpoints()}),
    )


async def test_docs_work_under_a_nested_url() -> None:
    docs = ApiDocs(
        build_openapi(item_routes()), openapi_url="/api/v1/openapi.json", docs_url="/api/docs"
    )
    from litestar import Litestar

    from mic.litestar import serve_openapi

    app = Litestar(openapi_config=None)
    serve_openapi(app, docs)
    async with client_for(app) as client:
        initializer = (await client.get("/api/docs/swagger-initializer.js")).text
        css = await client.get("/api/docs/swagger-ui.css")
    # Relative to the page (/api/docs), so the page also works under a proxy's root_path.
    assert '"url": "v1/openapi.json"' in initializer
    assert 200 == css.status_code


def test_a_docs_page_without_the_assets_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs_module._asset_directory.cache_clear()
    monkeypatch.setitem(sys.modules, "swagger_ui_bundle", None)
    try:
        with pytest.raises(MissingDependencyError, match=r"pip install 'mic-kit\[docs\]'"):
            ApiDocs({"openapi": "3.1.0"})
        assert b"{}" == ApiDocs({}, docs_url=None).openapi_json
    finally:
        docs_module._asset_directory.cache_clear()


async def test_the_page_with_a_trailing_slash_redirects_to_itself(framework: str) -> None:
    async with make_client(framework, item_routes()) as client:
        answer = await client.get("/docs/")
        document = await client.get("/openapi.json/")
    assert (308, "../docs", b"") == (answer.status_code, answer.headers["location"], answer.content)
    assert 200 == document.status_code

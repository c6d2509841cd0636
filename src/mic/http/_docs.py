"""The published contract: the OpenAPI document and its docs page, rendered once per app.

Every adapter serves the same precomputed bytes at the same paths, so a client reads one
contract whatever the framework. The docs page (Swagger UI) loads its assets from the
``swagger-ui-bundle-v2`` package, never from a CDN, so it renders offline.
"""

from __future__ import annotations

import functools
import html
import importlib
import json
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mic._deps import MissingDependencyError
from mic.http._answers import ExtraEndpoint, static_endpoints
from mic.http._render import encode_json
from mic.http._route import Receive, Scope, Send

# The Swagger UI files a docs page needs; everything else in the package stays on disk.
_ASSETS = {
    "swagger-ui.css": b"text/css; charset=utf-8",
    "swagger-ui-bundle.js": b"text/javascript; charset=utf-8",
    "favicon-32x32.png": b"image/png",
}
_INITIALIZER = "swagger-initializer.js"


@functools.cache
def _asset_directory() -> Path:
    try:
        bundle = importlib.import_module("swagger_ui_bundle")
    except ImportError as exc:
        raise MissingDependencyError("swagger-ui-bundle-v2", "docs") from exc
    return Path(str(bundle.swagger_ui_path))


@functools.cache
def _asset(name: str) -> bytes:
    return (_asset_directory() / name).read_bytes()


class _StaticApp:
    """ASGI app answering GET/HEAD with fixed bytes; `body` is loaded on the first request."""

    def __init__(
        self, media_type: bytes, load: Any, cache_control: bytes, page: str | None = None
    ) -> None:
        # A page answers its trailing-slash variant with a redirect to itself, relatively.
        self._slash_redirect = f"../{page.rsplit('/', 1)[-1]}".encode() if page else None
        self._media_type = media_type
        self._load = load
        self._cache_control = cache_control
        self._headers: list[tuple[bytes, bytes]] | None = None
        self._body = b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 200 with the bytes (no body for HEAD)."""
        # Litestar routes `/docs/` as `/docs`: the raw path tells them apart.
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if self._slash_redirect is not None and raw_path.endswith(b"/"):
            # The page's URLs are relative to `/docs`: from `/docs/` they would miss.
            headers = [(b"location", self._slash_redirect), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 308, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if self._headers is None:
            self._body = self._load()
            self._headers = [
                (b"content-type", self._media_type),
                (b"content-length", str(len(self._body)).encode()),
                (b"cache-control", self._cache_control),
                (b"x-content-type-options", b"nosniff"),
            ]
        await send({"type": "http.response.start", "status": 200, "headers": self._headers})
        body = b"" if scope["method"] == "HEAD" else self._body
        await send({"type": "http.response.body", "body": body})


def _relative(target: str, page: str) -> str:
    """`target` relative to the page at `page`, so the docs work under any ``root_path``."""
    return posixpath.relpath(target, posixpath.dirname(page) or "/")


class ApiDocs:
    """The OpenAPI document of an app and its docs page, served at fixed paths.

    The document is encoded once, here; serving it costs one ``send`` per request. Build it
    from `build_openapi`, then hand it to an adapter (`build_fastapi_app`,
    `build_litestar_app`, or `serve_openapi` on a plain app).

    Attributes:
        document: The OpenAPI document (a JSON-ready dict; do not mutate it).
        openapi_json: The document as served, byte for byte.
        openapi_url: Where the document is served (``/openapi.json``).
        docs_url: Where the docs page is served (``/docs``), or ``None`` for no page.
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        openapi_url: str = "/openapi.json",
        docs_url: str | None = "/docs",
    ) -> None:
        """Render the document; the docs assets are read on their first request.

        Raises:
            ValueError: A URL does not start with ``/``, or both URLs are the same.
            MissingDependencyError: `docs_url` is set but ``swagger-ui-bundle-v2`` (extra
                ``docs``) is not installed.
        """
        for url in (openapi_url, docs_url):
            if url is not None and (not url.startswith("/") or url.endswith("/")):
                raise ValueError(f"docs URL {url!r} must start with '/' and not end with '/'")
        if docs_url == openapi_url:
            raise ValueError("openapi_url and docs_url must differ")
        if docs_url is not None:
            _asset_directory()
        self.document: dict[str, Any] = dict(document)
        self.openapi_json = encode_json(self.document)
        self.openapi_url = openapi_url
        self.docs_url = docs_url

    def docs_html(self) -> bytes:
        """The docs page: Swagger UI over the served document, every URL relative."""
        if self.docs_url is None:
            return b""
        folder = self.docs_url.rsplit("/", 1)[-1]
        title = html.escape(str(self.document.get("info", {}).get("title", "API")))
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title} - API docs</title>\n"
            f'<link rel="icon" type="image/png" href="{folder}/favicon-32x32.png">\n'
            f'<link rel="stylesheet" href="{folder}/swagger-ui.css">\n'
            '</head>\n<body>\n<div id="swagger-ui"></div>\n'
            f'<script src="{folder}/swagger-ui-bundle.js"></script>\n'
            f'<script src="{folder}/{_INITIALIZER}"></script>\n'
            "</body>\n</html>\n"
        ).encode()

    def endpoints(self) -> list[ExtraEndpoint]:
        """The ASGI endpoints an adapter registers: the document, the page and its assets.

        Each path answers GET and HEAD, OPTIONS with `Allow`, and a 405 problem otherwise,
        exactly as route paths do.
        """
        apps = {self.openapi_url: _StaticApp(b"application/json", self._document, b"no-cache")}
        if self.docs_url is not None:
            docs_url = self.docs_url
            apps[docs_url] = _StaticApp(
                b"text/html; charset=utf-8", self.docs_html, b"no-cache", page=docs_url
            )
            initializer = functools.partial(_initializer, self.openapi_url, docs_url)
            apps[f"{docs_url}/{_INITIALIZER}"] = _StaticApp(
                b"text/javascript; charset=utf-8", initializer, b"no-cache"
            )
            for name, media_type in _ASSETS.items():
                load = functools.partial(_asset, name)
                asset = _StaticApp(media_type, load, b"public, max-age=86400")
                apps[f"{docs_url}/{name}"] = asset
        return [endpoint for path, app in apps.items() for endpoint in static_endpoints(path, app)]

    def _document(self) -> bytes:
        return self.openapi_json


def _initializer(openapi_url: str, docs_url: str) -> bytes:
    options = {
        "url": _relative(openapi_url, docs_url),
        "dom_id": "#swagger-ui",
        "deepLinking": True,
    }
    return f"window.ui = SwaggerUIBundle({json.dumps(options)});\n".encode()

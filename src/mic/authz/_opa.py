"""`OpaEngine`: asks an Open Policy Agent server through its REST data API.

``POST {url}/v1/data/{package}/{rule}`` with ``{"input": ...}`` answers ``{"result": ...}``
(the ``result`` key is absent when the rule is undefined). Needs the ``opa`` extra (httpx).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mic._deps import require
from mic.authz._engine import (
    AuthorizationEngine,
    AuthorizationEngineError,
    Resource,
    decision_input,
)
from mic.authz._rego import _entrypoint
from mic.http import Identity

if TYPE_CHECKING:
    import httpx


def _base_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"url {url!r} must be an http:// or https:// URL")
    return url.rstrip("/")


class OpaEngine(AuthorizationEngine):
    """Decides with an OPA server; the same `decision_input` as `RegoEngine`.

    Args:
        url: The server's base URL (``http://opa:8181``).
        decision: The rule, ``"package/rule"`` (``"authz/allow"`` is ``data.authz.allow``).
        client: An `httpx.AsyncClient` to reuse (its pool, TLS settings); one is created
            (and owned) otherwise.
        timeout: Seconds per request when this engine creates the client.
        headers: Extra request headers (``Authorization: Bearer ...`` for a protected OPA).

    Raises:
        MissingDependencyError: The ``opa`` extra (httpx) is not installed.
        ValueError: A malformed `url` or `decision`.

    Only a JSON ``true`` allows; ``false``, an undefined rule or any other value denies.
    """

    def __init__(
        self,
        url: str,
        *,
        decision: str = "authz/allow",
        client: httpx.AsyncClient | None = None,
        timeout: float = 1.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        httpx_module = require("httpx", "opa")
        self.url = _base_url(url)
        self.decision = _entrypoint(decision)
        self._endpoint = f"{self.url}/v1/data/{self.decision}"
        self._owns_client = client is None
        self.client: httpx.AsyncClient = client or httpx_module.AsyncClient(timeout=timeout)
        self._headers = dict(headers or {})
        self._http_error: type[Exception] = httpx_module.HTTPError

    def __repr__(self) -> str:
        return f"OpaEngine({self.url!r}, decision={self.decision!r})"

    async def evaluate(self, document: Mapping[str, Any]) -> Any:
        """The rule's value for input `document` (``None`` when undefined).

        Raises:
            AuthorizationEngineError: The server is unreachable or answers an error.
        """
        try:
            content = json.dumps({"input": dict(document)}, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise AuthorizationEngineError(f"the OPA input is not JSON: {error}") from None
        headers = {"Content-Type": "application/json", **self._headers}
        try:
            response = await self.client.post(self._endpoint, content=content, headers=headers)
        except self._http_error as error:
            raise AuthorizationEngineError(f"OPA is unreachable: {type(error).__name__}") from None
        if response.status_code != 200:
            raise AuthorizationEngineError(f"OPA answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise AuthorizationEngineError("OPA answered something that is not JSON") from None
        if not isinstance(body, dict):
            raise AuthorizationEngineError("OPA answered something that is not an object")
        return body.get("result")

    async def check(self, subject: Identity, action: str, resource: Resource) -> bool:
        """Ask the server; only ``"result": true`` allows."""
        return await self.evaluate(decision_input(subject, action, resource)) is True

    async def aclose(self) -> None:
        """Close the HTTP client if this engine created it."""
        if self._owns_client:
            await self.client.aclose()

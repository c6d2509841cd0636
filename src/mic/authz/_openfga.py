"""`OpenFgaEngine`: relationship-based checks against an OpenFGA server's REST API.

``POST {url}/stores/{store_id}/check`` with a tuple key (and contextual tuples) answers
``{"allowed": bool}``; lists go through ``POST .../batch-check`` in one request. Needs the
``openfga`` extra (httpx).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mic._deps import require
from mic.authz._engine import AuthorizationEngine, AuthorizationEngineError, Resource
from mic.authz._opa import _base_url
from mic.http import Identity

if TYPE_CHECKING:
    import httpx

_STORE_ID = re.compile(r"[A-Za-z0-9]{1,64}")
# OpenFGA limits a batch-check request; larger lists are split.
_BATCH_LIMIT = 50


@dataclass(frozen=True, slots=True)
class RelationshipTuple:
    """One OpenFGA relationship: `user` has `relation` on `object`.

    Attributes:
        user: ``"user:alice"``, ``"group:eng#member"``...
        relation: ``"viewer"``, ``"owner"``...
        object: ``"document:42"``.
    """

    user: str
    relation: str
    object: str

    def __post_init__(self) -> None:
        for name in ("user", "relation", "object"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"a relationship tuple needs a non-empty {name}")

    def as_json(self) -> dict[str, str]:
        """The ``tuple_key`` JSON object."""
        return {"user": self.user, "relation": self.relation, "object": self.object}


ContextualTuples = Callable[[Identity, str, Resource], Sequence[RelationshipTuple]]
"""Relationships known only at request time: ``(subject, action, resource) -> tuples``."""


class OpenFgaEngine(AuthorizationEngine):
    """Decides with OpenFGA: may ``{user_type}:{subject}`` have relation `action` on
    ``{resource.type}:{resource.id}``?

    Args:
        url: The server's base URL (``http://openfga:8080``).
        store_id: The store to ask.
        authorization_model_id: Pin a model version (recommended in production).
        user_type: The OpenFGA type of subjects (``"user"``).
        contextual_tuples: Extra relationships for each check (group memberships from the
            token, say).
        client: An `httpx.AsyncClient` to reuse; one is created (and owned) otherwise.
        timeout: Seconds per request when this engine creates the client.
        api_token: A bearer token for a protected server.

    Raises:
        MissingDependencyError: The ``openfga`` extra (httpx) is not installed.
        ValueError: A malformed `url`, `store_id` or `user_type`.

    A resource without an id cannot be checked and is denied.
    """

    def __init__(
        self,
        url: str,
        *,
        store_id: str,
        authorization_model_id: str | None = None,
        user_type: str = "user",
        contextual_tuples: ContextualTuples | None = None,
        client: httpx.AsyncClient | None = None,
        timeout: float = 1.0,
        api_token: str | None = None,
    ) -> None:
        httpx_module = require("httpx", "openfga")
        self.url = _base_url(url)
        if not _STORE_ID.fullmatch(store_id):
            raise ValueError(f"store_id {store_id!r} is not an OpenFGA store id")
        if not user_type or ":" in user_type:
            raise ValueError(f"user_type {user_type!r} must be a type name without ':'")
        self.store_id = store_id
        self.authorization_model_id = authorization_model_id
        self.user_type = user_type
        self.contextual_tuples = contextual_tuples
        self._owns_client = client is None
        self.client: httpx.AsyncClient = client or httpx_module.AsyncClient(timeout=timeout)
        self._headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
        self._http_error: type[Exception] = httpx_module.HTTPError

    def __repr__(self) -> str:
        return f"OpenFgaEngine({self.url!r}, store_id={self.store_id!r})"

    def _check_body(self, subject: Identity, action: str, resource: Resource) -> dict[str, Any]:
        body: dict[str, Any] = {
            "tuple_key": {
                "user": f"{self.user_type}:{subject.subject}",
                "relation": action,
                "object": f"{resource.type}:{resource.id}",
            }
        }
        if self.contextual_tuples is not None:
            extra = self.contextual_tuples(subject, action, resource)
            body["contextual_tuples"] = {"tuple_keys": [t.as_json() for t in extra]}
        return body

    async def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        payload = dict(body)
        if self.authorization_model_id is not None:
            payload["authorization_model_id"] = self.authorization_model_id
        url = f"{self.url}/stores/{self.store_id}/{path}"
        try:
            content = json.dumps(payload, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise AuthorizationEngineError(f"the OpenFGA request is not JSON: {error}") from None
        headers = {"Content-Type": "application/json", **self._headers}
        try:
            response = await self.client.post(url, content=content, headers=headers)
        except self._http_error as error:
            raise AuthorizationEngineError(
                f"OpenFGA is unreachable: {type(error).__name__}"
            ) from None
        if response.status_code != 200:
            raise AuthorizationEngineError(f"OpenFGA answered HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise AuthorizationEngineError("OpenFGA answered something that is not JSON") from None
        if not isinstance(answer, dict):
            raise AuthorizationEngineError("OpenFGA answered something that is not an object")
        return answer

    async def check(self, subject: Identity, action: str, resource: Resource) -> bool:
        """``POST /stores/{id}/check``; only ``"allowed": true`` allows."""
        if resource.id is None:
            return False
        answer = await self._post("check", self._check_body(subject, action, resource))
        return answer.get("allowed") is True

    async def check_many(
        self, subject: Identity, action: str, resources: Sequence[Resource]
    ) -> list[bool]:
        """``POST /stores/{id}/batch-check``, up to 50 checks per request.

        Raises:
            AuthorizationEngineError: The server failed, or left a check unanswered.
        """
        answers = [False] * len(resources)
        wanted = [i for i, r in enumerate(resources) if r.id is not None]
        for start in range(0, len(wanted), _BATCH_LIMIT):
            chunk = wanted[start : start + _BATCH_LIMIT]
            checks = [
                {**self._check_body(subject, action, resources[i]), "correlation_id": str(i)}
                for i in chunk
            ]
            result = (await self._post("batch-check", {"checks": checks})).get("result")
            if not isinstance(result, dict):
                raise AuthorizationEngineError("OpenFGA batch-check answered no 'result' object")
            for index in chunk:
                entry = result.get(str(index))
                if not isinstance(entry, dict) or "error" in entry:
                    raise AuthorizationEngineError(f"OpenFGA could not decide check {index}")
                answers[index] = entry.get("allowed") is True
        return answers

    async def aclose(self) -> None:
        """Close the HTTP client if this engine created it."""
        if self._owns_client:
            await self.client.aclose()

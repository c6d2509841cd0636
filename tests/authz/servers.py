"""In-process stand-ins for an OPA and an OpenFGA server, speaking their documented REST APIs.

Neither server installs from PyPI, Debian or npm, so the REST clients are tested against
these: the OPA one evaluates the posted input with a real Rego engine (the same policy as
the embedded tests), the OpenFGA one answers ``check`` and ``batch-check`` from a tuple set.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import httpx

from mic.authz import RegoEngine


class FakeOpa:
    """``POST /v1/data/{path}``: ``{"result": value}``, no ``result`` when undefined."""

    def __init__(self, policy: str, data: dict[str, object]) -> None:
        self.engine = RegoEngine({"policy.rego": policy}, decision="authz/allow", data=data)
        self.requests: list[httpx.Request] = []
        self.status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status, json={"code": "internal_error"})
        if request.method != "POST" or request.url.path != "/v1/data/authz/allow":
            return httpx.Response(404, json={"code": "not_found"})
        value = self.engine.evaluate(json.loads(request.content)["input"])
        return httpx.Response(200, json={} if value is None else {"result": value})


class FakeOpenFga:
    """``POST /stores/{id}/check`` and ``/batch-check`` over direct relationship tuples."""

    def __init__(self, store_id: str, tuples: Iterable[tuple[str, str, str]]) -> None:
        self.store_id = store_id
        self.tuples = set(tuples)
        self.requests: list[dict[str, object]] = []

    def _allowed(self, check: dict[str, object]) -> bool:
        key = check["tuple_key"]
        assert isinstance(key, dict)
        wanted = (key["user"], key["relation"], key["object"])
        contextual = check.get("contextual_tuples", {"tuple_keys": []})
        assert isinstance(contextual, dict)
        extra = {(t["user"], t["relation"], t["object"]) for t in contextual["tuple_keys"]}
        return wanted in self.tuples | extra

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        prefix = f"/stores/{self.store_id}/"
        if not request.url.path.startswith(prefix):
            return httpx.Response(404, json={"code": "store_id_not_found"})
        endpoint = request.url.path.removeprefix(prefix)
        if endpoint == "check":
            return httpx.Response(200, json={"allowed": self._allowed(body), "resolution": ""})
        if endpoint == "batch-check":
            result = {c["correlation_id"]: {"allowed": self._allowed(c)} for c in body["checks"]}
            return httpx.Response(200, json={"result": result})
        return httpx.Response(404, json={"code": "undefined_endpoint"})

"""`RegoEngine`: the same ``.rego`` policy an OPA server runs, evaluated in this process.

Built on `regopy` (Microsoft's rego-cpp bindings, extra ``authz``). The policy and its data
are compiled once into a bundle; each check sets the input and runs the bundle's entrypoint
in a worker thread, so the event loop never waits on policy evaluation.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mic._deps import require
from mic.authz._engine import (
    AuthorizationEngine,
    AuthorizationEngineError,
    Resource,
    decision_input,
)
from mic.http import Identity


def _entrypoint(decision: str) -> str:
    parts = decision.strip("/").split("/")
    if len(parts) < 2 or not all(p.isidentifier() for p in parts):
        raise ValueError(
            f"decision {decision!r} must look like 'package/rule' (e.g. 'authz/allow')"
        )
    return "/".join(parts)


class RegoEngine(AuthorizationEngine):
    """Evaluates a Rego policy in process; the decision rule must be a boolean.

    Args:
        policies: Module name to Rego source, or paths of ``.rego`` files.
        decision: The rule to evaluate, as OPA's data API names it: ``"authz/allow"`` is
            ``data.authz.allow``. Undefined or non-boolean results deny.
        data: Base documents the policy reads as ``data`` (role tables...), JSON-safe.

    Raises:
        MissingDependencyError: The ``authz`` extra (regopy) is not installed.
        ValueError: A policy that does not compile, or a malformed `decision`.

    Thread- and task-safe: evaluations are serialized on one interpreter.
    """

    def __init__(
        self,
        policies: Mapping[str, str] | list[str | Path] | tuple[str | Path, ...],
        *,
        decision: str = "authz/allow",
        data: Mapping[str, Any] | None = None,
    ) -> None:
        regopy = require("regopy", "authz")
        self.decision = _entrypoint(decision)
        if isinstance(policies, Mapping):
            modules = dict(policies)
        else:
            modules = {Path(p).name: Path(p).read_text(encoding="utf-8") for p in policies}
        if not modules:
            raise ValueError("RegoEngine needs at least one policy module")
        builder = regopy.Interpreter()
        try:
            for name, source in modules.items():
                builder.add_module(name, source)
            if data:
                builder.add_data_json(json.dumps(dict(data)))
            self._bundle = builder.build(None, [self.decision])
        except regopy.RegoError as error:
            raise ValueError(f"the Rego policy does not compile: {error}") from None
        if not self._bundle.ok():
            raise ValueError("the Rego policy does not compile")
        self._interpreter = regopy.Interpreter()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RegoEngine(decision={self.decision!r})"

    def evaluate(self, document: Mapping[str, Any]) -> Any:
        """The decision rule's value for `document` (``None`` when undefined).

        Raises:
            AuthorizationEngineError: The evaluation failed.
        """
        with self._lock:
            try:
                self._interpreter.set_input(dict(document))
                output = self._interpreter.query_bundle_entrypoint(self._bundle, self.decision)
            except Exception as error:  # noqa: BLE001 - RegoError, or an input it cannot take
                raise AuthorizationEngineError(f"Rego evaluation failed: {error}") from None
            if not output.ok():
                raise AuthorizationEngineError(f"Rego evaluation failed: {output}")
            results = output.results
        if not results or not results[0].expressions:
            return None
        return results[0].expressions[0]

    async def check(self, subject: Identity, action: str, resource: Resource) -> bool:
        """Evaluate the decision rule on `decision_input(...)`; only ``true`` allows."""
        document = decision_input(subject, action, resource)
        return await asyncio.to_thread(self.evaluate, document) is True

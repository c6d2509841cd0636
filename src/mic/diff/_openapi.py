"""Breaking-change rules for OpenAPI 3.x documents.

Operations are matched by method and path template (parameter names aside: ``/items/{id}``
and ``/items/{item_id}`` are one path). For each operation: parameters, request body,
responses (status set, media types, schemas), security and operation id. Schemas are
compared by `SchemaComparer` in the direction the data flows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from mic.diff._model import BREAKING, COMPATIBLE, Change, escape
from mic.diff._schema import SchemaComparer
from mic.diff._schema import resolve_object as _resolve

METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PLACEHOLDER: Final = re.compile(r"\{[^}/]*\}")

Emit = Callable[[Change], None]


def is_openapi(document: Mapping[str, Any]) -> bool:
    """Whether `document` is an OpenAPI 3.x document."""
    version = document.get("openapi")
    return isinstance(version, str) and version.startswith("3.")


def _operations(document: Mapping[str, Any]) -> dict[tuple[str, str], tuple[str, Any, Any]]:
    """``(METHOD, normalized path)`` to ``(path, operation, path item)``."""
    found: dict[tuple[str, str], tuple[str, Any, Any]] = {}
    for path, item in (document.get("paths") or {}).items():
        resolved = _resolve(document, item)
        for method in METHODS:
            if isinstance(resolved.get(method), Mapping):
                key = (method.upper(), _PLACEHOLDER.sub("{}", path))
                found[key] = (path, resolved[method], resolved)
    return found


def _parameters(
    document: Mapping[str, Any], path: str, operation: Any, item: Any
) -> dict[tuple[str, str], Any]:
    """``(in, key)`` to parameter; operation parameters override the path item's.

    Header names are case-insensitive (RFC 9110 section 5.1); a path parameter is keyed by
    its position in the template, since clients fill it in by position, not by name.
    """
    merged: dict[tuple[str, str], Any] = {}
    for raw in (*(item.get("parameters") or ()), *(operation.get("parameters") or ())):
        parameter = _resolve(document, raw)
        place, name = parameter.get("in"), parameter.get("name")
        if isinstance(place, str) and isinstance(name, str):
            merged[(place, name.lower() if place == "header" else name)] = parameter
    names = [match[1:-1] for match in _PLACEHOLDER.findall(path)]
    return {
        (place, str(names.index(key)) if place == "path" and key in names else key): parameter
        for (place, key), parameter in merged.items()
    }


def _security(
    document: Mapping[str, Any], operation: Any
) -> list[frozenset[tuple[str, tuple[str, ...]]]]:
    requirements = operation.get("security", document.get("security")) or []
    return [
        frozenset((scheme, tuple(sorted(scopes or ()))) for scheme, scopes in r.items())
        for r in requirements
        if isinstance(r, Mapping)
    ]


def _satisfied(
    old: frozenset[tuple[str, tuple[str, ...]]], new: frozenset[tuple[str, tuple[str, ...]]]
) -> bool:
    """Whether a client meeting requirement `old` also meets requirement `new`."""
    have = dict(old)
    return all(scheme in have and set(scopes) <= set(have[scheme]) for scheme, scopes in new)


def _is_success(status: str) -> bool:
    return status[:1] in ("1", "2", "3") or status == "default"


class OpenApiDiff:
    """Every change between two OpenAPI documents.

    Args:
        old: The old document.
        new: The new document.
    """

    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.old, self.new = old, new
        self.changes: list[Change] = []
        self.schemas = SchemaComparer(old, new, self.changes.append)

    def run(self) -> list[Change]:
        """Compare the documents; the changes found."""
        old_ops, new_ops = _operations(self.old), _operations(self.new)
        for key in sorted(old_ops.keys() - new_ops.keys()):
            path, _, _ = old_ops[key]
            self._emit(
                "operation.removed",
                BREAKING,
                f"{key[0]} {path}",
                _op_pointer(path, key[0]),
                "the operation was removed",
            )
        for key in sorted(new_ops.keys() - old_ops.keys()):
            path, _, _ = new_ops[key]
            self._emit(
                "operation.added",
                COMPATIBLE,
                f"{key[0]} {path}",
                _op_pointer(path, key[0]),
                "new operation",
            )
        for key in sorted(old_ops.keys() & new_ops.keys()):
            self._operation(key[0], old_ops[key], new_ops[key])
        return self.changes

    def _emit(self, rule: str, breaking: bool, location: str, pointer: str, message: str) -> None:
        self.changes.append(Change(rule, breaking, location, pointer, message))

    def _operation(self, method: str, old: tuple[str, Any, Any], new: tuple[str, Any, Any]) -> None:
        path, operation, _ = new
        _, old_operation, _ = old
        location, pointer = f"{method} {path}", _op_pointer(path, method)
        old_id, new_id = old_operation.get("operationId"), operation.get("operationId")
        if old_id != new_id:
            self._emit(
                "operation.id-changed",
                old_id is not None,
                location,
                pointer,
                f"operationId {old_id!r} became {new_id!r} (generated clients rename it)",
            )
        if operation.get("deprecated") and not old_operation.get("deprecated"):
            self._emit("operation.deprecated", COMPATIBLE, location, pointer, "now deprecated")
        self._parameters(location, pointer, old, new)
        self._request_body(location, pointer, old_operation, operation)
        self._responses(location, pointer, old_operation, operation)
        self._security(location, pointer, old_operation, operation)

    def _parameters(
        self, location: str, pointer: str, old: tuple[str, Any, Any], new: tuple[str, Any, Any]
    ) -> None:
        old_path, old_op, old_item = old
        path, op, item = new
        old_params = _parameters(self.old, old_path, old_op, old_item)
        new_params = _parameters(self.new, path, op, item)
        for key in sorted(old_params.keys() - new_params.keys()):
            name = old_params[key].get("name")
            self._emit(
                "request.parameter.removed",
                BREAKING,
                location,
                f"{pointer}/parameters",
                f"{key[0]} parameter {name!r} was removed (what clients send is ignored)",
            )
        for key in sorted(new_params.keys() - old_params.keys()):
            name, required = new_params[key].get("name"), bool(new_params[key].get("required"))
            rule = "request.parameter.required-added" if required else "request.parameter.added"
            kind = "required" if required else "optional"
            self._emit(
                rule,
                required,
                location,
                f"{pointer}/parameters",
                f"new {kind} {key[0]} parameter {name!r}",
            )
        for key in sorted(old_params.keys() & new_params.keys()):
            before, after = old_params[key], new_params[key]
            name = after.get("name")
            if after.get("required") and not before.get("required"):
                self._emit(
                    "request.parameter.became-required",
                    BREAKING,
                    location,
                    f"{pointer}/parameters",
                    f"{key[0]} parameter {name!r} became required",
                )
            self.schemas.compare(
                before.get("schema"),
                after.get("schema"),
                pointer=f"{pointer}/parameters",
                direction="request",
                location=f"{location} {key[0]} parameter {name!r}",
            )

    def _request_body(self, location: str, pointer: str, old_op: Any, op: Any) -> None:
        before = _resolve(self.old, old_op.get("requestBody")) if "requestBody" in old_op else None
        after = _resolve(self.new, op.get("requestBody")) if "requestBody" in op else None
        at = f"{pointer}/requestBody"
        if before is None and after is None:
            return
        if after is None:
            self._emit(
                "request.body.removed",
                BREAKING,
                location,
                at,
                "the request body was removed (what clients send is ignored or refused)",
            )
            return
        if before is None:
            required = bool(after.get("required"))
            self._emit(
                "request.body.added",
                required,
                location,
                at,
                f"new {'required' if required else 'optional'} request body",
            )
            return
        if after.get("required") and not before.get("required"):
            self._emit(
                "request.body.became-required", BREAKING, location, at, "the body became required"
            )
        old_content, new_content = before.get("content") or {}, after.get("content") or {}
        for media in sorted(old_content.keys() - new_content.keys()):
            self._emit(
                "request.media-type.removed",
                BREAKING,
                location,
                f"{at}/content",
                f"{media} bodies are no longer accepted",
            )
        for media in sorted(new_content.keys() - old_content.keys()):
            self._emit(
                "request.media-type.added",
                COMPATIBLE,
                location,
                f"{at}/content",
                f"{media} bodies are accepted too",
            )
        for media in sorted(old_content.keys() & new_content.keys()):
            self.schemas.compare(
                (old_content[media] or {}).get("schema"),
                (new_content[media] or {}).get("schema"),
                pointer=f"{at}/content/{escape(media)}/schema",
                direction="request",
                location=f"{location} request body",
            )

    def _responses(self, location: str, pointer: str, old_op: Any, op: Any) -> None:
        old_responses = {str(k): v for k, v in (old_op.get("responses") or {}).items()}
        new_responses = {str(k): v for k, v in (op.get("responses") or {}).items()}
        at = f"{pointer}/responses"
        for status in sorted(old_responses.keys() - new_responses.keys()):
            self._emit(
                "response.status.removed",
                _is_success(status),
                location,
                at,
                f"no longer answers {status}",
            )
        for status in sorted(new_responses.keys() - old_responses.keys()):
            self._emit(
                "response.status.added",
                _is_success(status),
                location,
                at,
                f"may now answer {status}",
            )
        for status in sorted(old_responses.keys() & new_responses.keys()):
            before = _resolve(self.old, old_responses[status])
            after = _resolve(self.new, new_responses[status])
            self._response(f"{location} {status}", f"{at}/{escape(status)}", before, after)

    def _response(self, location: str, at: str, before: Any, after: Any) -> None:
        old_content, new_content = before.get("content") or {}, after.get("content") or {}
        for media in sorted(old_content.keys() - new_content.keys()):
            self._emit(
                "response.media-type.removed",
                BREAKING,
                location,
                f"{at}/content",
                f"no longer answers {media}",
            )
        for media in sorted(new_content.keys() - old_content.keys()):
            self._emit(
                "response.media-type.added",
                bool(old_content),
                location,
                f"{at}/content",
                f"may now answer {media}",
            )
        for media in sorted(old_content.keys() & new_content.keys()):
            self.schemas.compare(
                (old_content[media] or {}).get("schema"),
                (new_content[media] or {}).get("schema"),
                pointer=f"{at}/content/{escape(media)}/schema",
                direction="response",
                location=f"{location} response",
            )
        old_headers = {k.lower() for k in before.get("headers") or {}}
        for name in sorted(old_headers - {k.lower() for k in after.get("headers") or {}}):
            self._emit(
                "response.header.removed",
                BREAKING,
                location,
                f"{at}/headers",
                f"no longer sends the {name} header",
            )

    def _security(self, location: str, pointer: str, old_op: Any, op: Any) -> None:
        before, after = _security(self.old, old_op), _security(self.new, op)
        at = f"{pointer}/security"
        old_open = not before or frozenset() in before
        new_open = not after or frozenset() in after
        if old_open and not new_open:
            self._emit("security.added", BREAKING, location, at, "now requires authentication")
        elif not old_open and new_open:
            self._emit(
                "security.removed", COMPATIBLE, location, at, "no longer requires authentication"
            )
        elif not old_open and any(not any(_satisfied(o, n) for n in after) for o in before):
            self._emit(
                "security.changed",
                BREAKING,
                location,
                at,
                "requires other credentials or scopes than before",
            )


def _op_pointer(path: str, method: str) -> str:
    return f"/paths/{escape(path)}/{method.lower()}"


def diff_openapi(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from the OpenAPI document `old` to `new`."""
    return OpenApiDiff(old, new).run()

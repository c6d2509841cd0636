"""`RbacEngine`: role-based access control in memory, from code or a TOML/JSON file.

A permission is ``"<resource type>:<action>"``; either half may be ``*`` and ``"*"`` alone
means everything. Roles inherit other roles' permissions. Every role is expanded once, at
construction, so a check is a few set lookups.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mic.authz._engine import AuthorizationEngine, Resource
from mic.http import Identity

logger = logging.getLogger("mic.authz")

_WILDCARD = "*"


def _parse_permission(permission: str) -> tuple[str, str]:
    if not isinstance(permission, str) or not permission:
        raise ValueError(f"permission {permission!r} must be a non-empty string")
    if permission == _WILDCARD:
        return (_WILDCARD, _WILDCARD)
    resource_type, colon, action = permission.partition(":")
    if not colon or not resource_type or not action or ":" in action:
        raise ValueError(f"permission {permission!r} must look like 'resource:action'")
    for part in (resource_type, action):
        if _WILDCARD in part and part != _WILDCARD:
            raise ValueError(f"permission {permission!r}: '*' must stand for a whole part")
    return (resource_type, action)


@dataclass(frozen=True, slots=True)
class Role:
    """A named set of permissions.

    Attributes:
        permissions: ``"resource:action"`` strings; ``*`` for a whole part, or ``"*"``.
        inherits: Roles whose permissions this role also has.
    """

    permissions: tuple[str, ...] = ()
    inherits: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("permissions", "inherits"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"{name} must be a sequence of strings, not one string")
            object.__setattr__(self, name, tuple(value))
        for permission in self.permissions:
            _parse_permission(permission)


class RbacEngine(AuthorizationEngine):
    """Role-based access control held in memory.

    A subject's roles are its assignments here plus, when `roles_claim` is set, the role
    names in that claim of its verified token. A role name that is not defined grants
    nothing (and is logged once per name): it never raises at request time.

    Args:
        roles: Role name to `Role`.
        assignments: Subject id to role names.
        roles_claim: Claim holding a list of role names (``None``: assignments only).

    Raises:
        ValueError: An unknown role in `inherits` or `assignments`, an inheritance cycle,
            or a malformed permission.
    """

    def __init__(
        self,
        roles: Mapping[str, Role],
        *,
        assignments: Mapping[str, Iterable[str]] | None = None,
        roles_claim: str | None = "roles",
    ) -> None:
        self.roles = dict(roles)
        for name, role in self.roles.items():
            if not name or not isinstance(role, Role):
                raise ValueError(f"role {name!r} must have a name and be a Role")
            if unknown := [r for r in role.inherits if r not in self.roles]:
                raise ValueError(f"role {name!r} inherits unknown role(s) {unknown}")
        self._grants = {name: self._expand(name, ()) for name in self.roles}
        self.assignments: dict[str, frozenset[str]] = {}
        for subject, names in (assignments or {}).items():
            if isinstance(names, str):
                raise TypeError(f"assignments[{subject!r}] must be a list of role names")
            granted = frozenset(names)
            if unknown_roles := sorted(granted - self.roles.keys()):
                raise ValueError(f"subject {subject!r} is assigned unknown role(s) {unknown_roles}")
            self.assignments[subject] = granted
        self.roles_claim = roles_claim
        self._warned: set[str] = set()

    def _expand(self, name: str, path: tuple[str, ...]) -> frozenset[tuple[str, str]]:
        if name in path:
            raise ValueError(f"role inheritance cycle: {' -> '.join((*path, name))}")
        role = self.roles[name]
        grants = {_parse_permission(p) for p in role.permissions}
        for parent in role.inherits:
            grants |= self._expand(parent, (*path, name))
        return frozenset(grants)

    @classmethod
    def from_mapping(cls, document: Mapping[str, Any]) -> RbacEngine:
        """Build from ``{"roles": {name: {"permissions": [...], "inherits": [...]}},
        "assignments": {subject: [roles]}, "roles_claim": "roles"}``.

        Raises:
            ValueError: A malformed document, unknown role or cycle.
        """
        if not isinstance(document, Mapping) or not isinstance(document.get("roles"), Mapping):
            raise ValueError("an RBAC document needs a 'roles' table")  # noqa: TRY004 (file content)
        if unknown_keys := set(document) - {"roles", "assignments", "roles_claim"}:
            raise ValueError(f"unknown RBAC document key(s) {sorted(unknown_keys)}")
        roles: dict[str, Role] = {}
        for name, body in document["roles"].items():
            if not isinstance(body, Mapping) or set(body) - {"permissions", "inherits"}:
                raise ValueError(f"role {name!r} may only have 'permissions' and 'inherits'")
            roles[name] = Role(tuple(body.get("permissions", ())), tuple(body.get("inherits", ())))
        assignments = document.get("assignments", {})
        if not isinstance(assignments, Mapping):
            raise ValueError("'assignments' must map subjects to role lists")  # noqa: TRY004
        return cls(roles, assignments=assignments, roles_claim=document.get("roles_claim", "roles"))

    @classmethod
    def from_file(cls, path: str | Path) -> RbacEngine:
        """Load a ``.toml`` or ``.json`` RBAC document (see `from_mapping`).

        Raises:
            ValueError: Another extension, unparsable content, or a bad document.
            OSError: The file cannot be read.
        """
        file = Path(path)
        text = file.read_text(encoding="utf-8")
        try:
            if file.suffix == ".toml":
                document = tomllib.loads(text)
            elif file.suffix == ".json":
                document = json.loads(text)
            else:
                raise ValueError(f"{file.name}: RBAC files are .toml or .json")
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{file.name} is not valid: {error}") from None
        return cls.from_mapping(document)

    def roles_of(self, subject: Identity) -> frozenset[str]:
        """The role names `subject` holds (assigned, plus from its token claim)."""
        roles = self.assignments.get(subject.subject, frozenset())
        if self.roles_claim is not None:
            claimed = subject.claims.get(self.roles_claim)
            if isinstance(claimed, (list, tuple)):
                roles = roles | {r for r in claimed if isinstance(r, str)}
        return roles

    def _granted(self, role: str) -> frozenset[tuple[str, str]]:
        grants = self._grants.get(role)
        if grants is None:
            if role not in self._warned and len(self._warned) < 1000:
                self._warned.add(role)
                logger.warning("unknown role %r grants nothing", role[:64])
            return frozenset()
        return grants

    def granting(self, action: str, resource_type: str) -> frozenset[str]:
        """The roles whose permissions (inherited ones included) cover `action` on the type."""
        wanted = {
            (resource_type, action),
            (resource_type, _WILDCARD),
            (_WILDCARD, action),
            (_WILDCARD, _WILDCARD),
        }
        return frozenset(name for name, grants in self._grants.items() if grants & wanted)

    def holds_any(self, subject: Identity, roles: frozenset[str]) -> bool:
        """Whether `subject` holds one of `roles` (assigned, or named in its token claim)."""
        return self.membership(roles)(subject)

    def membership(self, roles: frozenset[str]) -> Callable[[Identity], bool]:
        """A check ``(subject) -> bool``: does it hold one of `roles`? Built once per route,
        it keeps what it reads in local variables (the per-request hot path of `Authorize`).
        """
        assignments, claim = self.assignments, self.roles_claim

        def holds(subject: Identity) -> bool:
            assigned = assignments.get(subject.subject)
            if assigned is not None and not roles.isdisjoint(assigned):
                return True
            if claim is None:
                return False
            claimed = subject.claims.get(claim)
            # A tuple of types, not `list | tuple`: isinstance checks it faster (hot path).
            if not isinstance(claimed, (list, tuple)):
                return False
            try:
                # Only strings are role names; a non-string cannot equal one: never a match.
                return not roles.isdisjoint(claimed)
            except TypeError:  # an unhashable element (a nested object) in a hostile claim
                return False

        return holds

    def allows(self, subject: Identity, action: str, resource_type: str) -> bool:
        """The decision, synchronously (no I/O)."""
        wanted = (
            (resource_type, action),
            (resource_type, _WILDCARD),
            (_WILDCARD, action),
            (_WILDCARD, _WILDCARD),
        )
        for role in self.roles_of(subject):
            grants = self._granted(role)
            if any(w in grants for w in wanted):
                return True
        return False

    async def check(self, subject: Identity, action: str, resource: Resource) -> bool:
        """Whether one of the subject's roles grants `action` on the resource's type."""
        return self.allows(subject, action, resource.type)

    async def check_many(
        self, subject: Identity, action: str, resources: Sequence[Resource]
    ) -> list[bool]:
        """RBAC decides per resource type: one decision per distinct type."""
        decided: dict[str, bool] = {}
        answers = []
        for resource in resources:
            if resource.type not in decided:
                decided[resource.type] = self.allows(subject, action, resource.type)
            answers.append(decided[resource.type])
        return answers

    def __repr__(self) -> str:
        return f"RbacEngine(roles={sorted(self.roles)!r})"

"""Authorization: one `AuthorizationEngine` contract, several engines, one route policy.

`RbacEngine` (roles in memory), `RegoEngine` (a Rego policy evaluated in process, extra
``authz``), `OpaEngine` (an OPA server, extra ``opa``) and `OpenFgaEngine` (an OpenFGA
server, extra ``openfga``) all decide ``check(subject, action, resource)``. `Authorize` puts
a check on an HTTP route; `filter_authorized` filters a list. See docs/authz.md.
"""

from mic.authz._engine import (
    AuthorizationEngine,
    AuthorizationEngineError,
    CachedAuthorizationEngine,
    Resource,
    decision_input,
)
from mic.authz._opa import OpaEngine
from mic.authz._openfga import ContextualTuples, OpenFgaEngine, RelationshipTuple
from mic.authz._policy import AuthorizationStats, Authorize, ResourceOf, filter_authorized
from mic.authz._rbac import RbacEngine, Role
from mic.authz._rego import RegoEngine

__all__ = [
    "AuthorizationEngine",
    "AuthorizationEngineError",
    "AuthorizationStats",
    "Authorize",
    "CachedAuthorizationEngine",
    "ContextualTuples",
    "OpaEngine",
    "OpenFgaEngine",
    "RbacEngine",
    "RegoEngine",
    "RelationshipTuple",
    "Resource",
    "ResourceOf",
    "Role",
    "decision_input",
    "filter_authorized",
]

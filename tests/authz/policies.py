"""Shared test material: a Rego policy, an RBAC document and identities."""

from __future__ import annotations

from mic.http import Identity

POLICY = """
package authz

import rego.v1

default allow := false

# Admins may do anything; owners may edit their own documents; everyone may read.
allow if "admin" in input.subject.claims.roles

allow if {
    input.action == "edit"
    input.resource.attributes.owner == input.subject.id
}

allow if input.action == "read"

allow if {
    input.action == "delete"
    some grant in data.grants[input.subject.id]
    grant == input.resource.id
}
"""

DATA = {"grants": {"bob": ["doc-7"]}}

RBAC_TOML = """
roles_claim = "roles"

[roles.viewer]
permissions = ["item:read"]

[roles.editor]
permissions = ["item:write", "item:delete"]
inherits = ["viewer"]

[roles.admin]
permissions = ["*"]

[roles.auditor]
permissions = ["*:read"]

[assignments]
alice = ["editor"]
carol = ["auditor"]
"""


def who(subject: str, *roles: str) -> Identity:
    """An identity with `roles` in its token claims."""
    return Identity(subject=subject, kind="custom", claims={"roles": list(roles), "jti": subject})

"""`RbacEngine`: permissions with wildcards, inheritance, assignments, files, bad documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mic.authz import RbacEngine, Resource, Role
from mic.http import Identity
from tests.authz.policies import RBAC_TOML, who


@pytest.fixture
def engine(tmp_path: Path) -> RbacEngine:
    path = tmp_path / "rbac.toml"
    path.write_text(RBAC_TOML)
    return RbacEngine.from_file(path)


@pytest.mark.parametrize(
    ("identity", "action", "resource_type", "expected"),
    [
        (who("alice"), "read", "item", True),  # editor inherits viewer
        (who("alice"), "write", "item", True),
        (who("alice"), "write", "order", False),
        (who("bob"), "read", "item", False),  # no role at all
        (who("bob", "viewer"), "read", "item", True),  # role from the token claim
        (who("bob", "viewer"), "delete", "item", False),
        (who("root", "admin"), "anything", "whatever", True),  # "*"
        (who("carol"), "read", "order", True),  # "*:read"
        (who("carol"), "write", "order", False),
        (who("mallory", "superuser", "root"), "read", "item", False),  # unknown roles
        (who("mallory", 42), "read", "item", False),  # type: ignore[arg-type]
    ],
)
async def test_decisions(
    engine: RbacEngine, identity: object, action: str, resource_type: str, expected: bool
) -> None:
    assert expected == await engine.check(identity, action, Resource(resource_type, "1"))  # type: ignore[arg-type]


async def test_unknown_role_in_a_token_is_logged_once(
    engine: RbacEngine, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        assert not await engine.check(who("x", "ghost"), "read", Resource("item"))
    assert 1 == sum("unknown role 'ghost'" in r.message for r in caplog.records)


async def test_check_many_decides_per_type(engine: RbacEngine) -> None:
    resources = [Resource("item", "1"), Resource("order", "2"), Resource("item", "3")]
    assert [True, False, True] == await engine.check_many(who("alice"), "read", resources)


def test_json_file_and_mapping(tmp_path: Path) -> None:
    path = tmp_path / "rbac.json"
    path.write_text(json.dumps({"roles": {"r": {"permissions": ["a:b"]}}, "roles_claim": None}))
    engine = RbacEngine.from_file(path)
    assert engine.roles_claim is None
    assert not engine.allows(who("x", "r"), "b", "a")  # claim ignored without roles_claim
    assert "RbacEngine(roles=['r'])" == repr(engine)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"roles": {"a": {"inherits": ["ghost"]}}}, "inherits unknown role"),
        ({"roles": {"a": {"inherits": ["b"]}, "b": {"inherits": ["a"]}}}, "cycle: a -> b -> a"),
        ({"roles": {"a": {}}, "assignments": {"u": ["ghost"]}}, "unknown role"),
        ({"roles": {"a": {"permissions": ["items"]}}}, "resource:action"),
        ({"roles": {"a": {"permissions": ["it*:read"]}}}, "whole part"),
        ({"roles": {"a": {"permissions": [""]}}}, "non-empty"),
        ({"roles": {"a": {"permissions": ["a:b:c"]}}}, "resource:action"),
        ({"roles": {"a": {"grants": []}}}, "only have"),
        ({"roles": []}, "'roles' table"),
        ({"roles": {}, "extra": 1}, "unknown RBAC document key"),
        ({"roles": {}, "assignments": []}, "role lists"),
        ({"roles": {"": {}}}, "must have a name"),
    ],
)
def test_bad_documents(document: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RbacEngine.from_mapping(document)


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="not one string"):
        Role(permissions="item:read")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list of role names"):
        RbacEngine({"r": Role()}, assignments={"u": "r"})


@pytest.mark.parametrize(("name", "content"), [("x.yaml", "a: 1"), ("x.toml", "= broken")])
def test_bad_files(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValueError, match=r"\.toml or \.json|is not valid"):
        RbacEngine.from_file(path)


def test_holds_any(engine: RbacEngine) -> None:
    assert engine.holds_any(who("alice"), frozenset({"editor"}))  # assigned
    assert engine.holds_any(who("bob", "viewer"), frozenset({"viewer"}))  # from the claim
    assert not engine.holds_any(who("bob", "viewer"), frozenset({"admin"}))


@pytest.mark.parametrize("claim", ["viewer", {"viewer": True}, [["viewer"]], [{"a": 1}], None])
def test_holds_any_ignores_claims_that_are_not_role_lists(
    engine: RbacEngine, claim: object
) -> None:
    bob = Identity("bob", "custom", claims={"roles": claim})
    assert not engine.holds_any(bob, frozenset({"viewer"}))


def test_holds_any_without_a_roles_claim_reads_assignments_only() -> None:
    engine = RbacEngine(
        {"viewer": Role(["item:read"])}, assignments={"alice": ["viewer"]}, roles_claim=None
    )
    assert engine.holds_any(Identity("alice", "custom"), frozenset({"viewer"}))
    assert not engine.holds_any(who("bob", "viewer"), frozenset({"viewer"}))

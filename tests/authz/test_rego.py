"""`RegoEngine`: a real Rego policy evaluated in process with regopy."""

from __future__ import annotations

from pathlib import Path

import pytest

from mic.authz import AuthorizationEngineError, RegoEngine, Resource
from mic.http import Identity
from tests.authz.policies import DATA, POLICY, who


@pytest.fixture(scope="module")
def engine() -> RegoEngine:
    return RegoEngine({"policy.rego": POLICY}, data=DATA)


@pytest.mark.parametrize(
    ("identity", "action", "resource", "expected"),
    [
        (who("root", "admin"), "delete", Resource("doc", "1"), True),
        (who("ann"), "read", Resource("doc", "1"), True),
        (who("ann"), "edit", Resource("doc", "1", {"owner": "ann"}), True),
        (who("ann"), "edit", Resource("doc", "1", {"owner": "bob"}), False),
        (who("ann"), "edit", Resource("doc", "1"), False),
        (who("bob"), "delete", Resource("doc", "doc-7"), True),  # from data.grants
        (who("bob"), "delete", Resource("doc", "doc-8"), False),
        (who("ann"), "delete", Resource("doc", "doc-7"), False),
    ],
)
async def test_decisions(
    engine: RegoEngine, identity: object, action: str, resource: Resource, expected: bool
) -> None:
    assert expected == await engine.check(identity, action, resource)  # type: ignore[arg-type]


async def test_check_many(engine: RegoEngine) -> None:
    resources = [Resource("doc", "doc-7"), Resource("doc", "doc-9")]
    assert [True, False] == await engine.check_many(who("bob"), "delete", resources)


async def test_policy_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "authz.rego"
    path.write_text(POLICY)
    engine = RegoEngine([path], data=DATA)
    assert await engine.check(who("x"), "read", Resource("doc"))
    assert "RegoEngine(decision='authz/allow')" == repr(engine)


@pytest.mark.parametrize(
    "source", ["package authz\nallow := input.missing\n", 'package authz\nallow := "yes"\n']
)
async def test_undefined_or_non_boolean_denies(source: str) -> None:
    engine = RegoEngine({"p.rego": source})
    assert not await engine.check(who("x"), "read", Resource("doc"))


async def test_evaluation_error_is_an_engine_error() -> None:
    source = "package authz\nimport rego.v1\nallow := true if input.action\nallow := false if input.action\n"
    engine = RegoEngine({"p.rego": source})
    with pytest.raises(AuthorizationEngineError, match="Rego evaluation failed"):
        engine.evaluate({"action": True})


@pytest.mark.parametrize(
    ("policies", "decision", "message"),
    [
        ({"p.rego": "package authz\nallow if {"}, "authz/allow", "does not compile"),
        ({}, "authz/allow", "at least one policy"),
        ({"p.rego": POLICY}, "allow", "package/rule"),
        ({"p.rego": POLICY}, "authz/al-low", "package/rule"),
    ],
)
def test_bad_policies(policies: dict[str, str], decision: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RegoEngine(policies, decision=decision)


async def test_an_input_the_engine_cannot_take_is_an_engine_error(engine: RegoEngine) -> None:
    with pytest.raises(AuthorizationEngineError, match="Rego evaluation failed"):
        await engine.check(Identity("a", "custom", claims={"x": object()}), "read", Resource("d"))

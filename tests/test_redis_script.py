"""`mic._redis_script.RedisScript`: EVALSHA first, EVAL once the server lost the script."""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import NoScriptError

from mic._redis_script import RedisScript


class FakeRedis:
    """Answers EVALSHA only for scripts it has seen through EVAL (as a flushed server does)."""

    def __init__(self) -> None:
        self.known: set[str] = set()
        self.calls: list[str] = []

    async def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        self.calls.append("evalsha")
        if sha not in self.known:
            raise NoScriptError("NOSCRIPT No matching script.")
        return [numkeys, *keys_and_args]

    async def eval(self, source: str, numkeys: int, *keys_and_args: Any) -> Any:
        self.calls.append("eval")
        self.known.add(RedisScript(source).sha)
        return [numkeys, *keys_and_args]


async def test_a_lost_script_runs_by_eval_then_by_sha_again() -> None:
    client, script = FakeRedis(), RedisScript("return ARGV[1]")

    first = await script(client, ["k"], ["a", 1])
    second = await script(client, ["k"], ["b"])

    assert [1, "k", "a", 1] == first
    assert [1, "k", "b"] == second
    assert ["evalsha", "eval", "evalsha"] == client.calls


def test_the_sha_is_the_one_redis_names_the_script_by() -> None:
    # SHA-1 of "return 1", as `SCRIPT LOAD "return 1"` answers.
    assert RedisScript("return 1").sha == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"


@pytest.mark.redis
async def test_a_script_runs_on_a_real_server(redis_url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        assert b"ok" == await RedisScript("return ARGV[1]")(client, [], ["ok"])
    finally:
        await client.aclose()

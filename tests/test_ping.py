"""`mic._ping`: the round trips behind the backends' ``ping()`` refuse a wrong answer."""

from __future__ import annotations

import pytest

from mic._ping import ping_nats, ping_redis


class _OddRedis:
    """A Redis client whose PING answers something other than PONG (a proxy, a stub)."""

    async def ping(self) -> object:
        return b"LOADING"


class _ClosedNats:
    is_connected = False


async def test_redis_must_answer_pong() -> None:
    with pytest.raises(ConnectionError, match="Redis did not answer PING with PONG"):
        await ping_redis(_OddRedis())


async def test_a_disconnected_nats_client_is_not_ready() -> None:
    with pytest.raises(ConnectionError, match="the NATS client is not connected"):
        await ping_nats(_ClosedNats())

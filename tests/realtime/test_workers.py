"""Two worker processes joined through the real Redis: a broadcast in one reaches the other."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio

from mic.realtime import RealtimeClient, ReceivedBroadcast
from tests.realtime.support import ROUTES, Say
from tests.support import eventually, free_port

CHAT_ROUTE = ROUTES[1]
ROOT = Path(__file__).resolve().parents[2]
MESSAGES_PER_WORKER = 40


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture
def workers(framework: str, redis_url: str) -> Iterator[tuple[list[int], str]]:
    prefix = f"test:rt:{uuid.uuid4().hex}:"
    env = os.environ | {
        "MIC_RT_REDIS_URL": redis_url,
        "MIC_RT_PREFIX": prefix,
        "MIC_RT_FRAMEWORK": framework,
    }
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tests.realtime.support:worker_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--lifespan",
                "off",
            ],
            cwd=ROOT,
            env=env,
        )
        for port in ports
    ]
    try:
        yield ports, prefix
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


@pytest.mark.redis
async def test_broadcasts_cross_workers_none_lost_none_doubled(
    workers: tuple[list[int], str], redis_url: str
) -> None:
    ports, prefix = workers
    await eventually(lambda: all(_listening(port) for port in ports), within=30)
    clients = [RealtimeClient(f"ws://127.0.0.1:{port}") for port in ports]
    sessions = [await client.connect(CHAT_ROUTE, room_id=5) for client in clients for _ in range(3)]
    # A connection is in its room once the handshake completes: every client hears this.
    await sessions[0].send(Say(text="probe"))
    for session in sessions:
        received = await asyncio.wait_for(session.receive(), 10)
        assert isinstance(received, ReceivedBroadcast)
    senders = (sessions[0], sessions[3])

    async def talk(session: object, worker: int) -> None:
        for n in range(MESSAGES_PER_WORKER):
            await session.send(Say(text=f"w{worker}-{n}"))  # type: ignore[attr-defined]

    await asyncio.gather(*(talk(s, i) for i, s in enumerate(senders)))
    expected = sorted(f"w{w}-{n}" for w in range(2) for n in range(MESSAGES_PER_WORKER))
    for session in sessions:
        texts, ids = [], []
        while len(texts) < len(expected):
            message = await asyncio.wait_for(session.receive(), 10)
            assert isinstance(message, ReceivedBroadcast)
            texts.append(message.data.text)
            ids.append(message.id)
        assert expected == sorted(texts)
        for worker in range(2):
            mine = [t for t in texts if t.startswith(f"w{worker}-")]
            assert [f"w{worker}-{n}" for n in range(MESSAGES_PER_WORKER)] == mine
        assert len(set(ids)) == len(ids)
        await session.close()
    client = redis_asyncio.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()

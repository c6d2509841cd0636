"""Room broadcast throughput: mic vs each framework's own way, side by side, in one run.

Each server runs in its own uvicorn process (``websockets-sansio``, compression off so zlib
does not hide the framework); `CLIENTS` real `websockets` clients join one room; an HTTP
trigger broadcasts `MESSAGES` frames of identical bytes; the figure is frames delivered per
second until every client has every frame (best of `ROUNDS`), by the wall clock and per
CPU second of the server process (``/proc/<pid>/stat``; steadier on a loaded machine, where
the wall figure swings with other work). Pairs:

- mic on Litestar vs Litestar's channels plugin (`MemoryChannelsBackend`, its own handlers);
- mic on FastAPI vs a plain Starlette loop (``for ws in clients: await ws.send_text(...)``).

Goal: mic >= 0.9x the native figure on each framework (issue 11).
Run: ``.venv/bin/python -m benchmarks.bench_realtime``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel
from websockets.asyncio.client import ClientConnection, connect

CLIENTS = 20
MESSAGES = 2000
ROUNDS = 5
PAYLOAD = "p" * 200
ROOT = Path(__file__).resolve().parents[1]


class Tick(BaseModel):
    round: int
    seq: int
    payload: str


def _frame(round_: int, seq: int) -> str:
    data = {"round": round_, "seq": seq, "payload": PAYLOAD}
    envelope = {"type": "room", "room": "bench", "id": f"{seq + 1}-0", "data": data}
    return json.dumps(envelope, separators=(",", ":"))


# --- The four servers (uvicorn --factory). ---


def mic_litestar() -> Any:
    """mic's room on Litestar, triggered by a plain Litestar route."""
    from litestar import Litestar, post

    from mic.litestar import build_litestar_realtime_router

    hub, routes, config = _mic_parts()

    @post("/trigger", status_code=204)
    async def trigger(count: int, round: int) -> None:
        for seq in range(count):
            await hub.publish("bench", Tick(round=round, seq=seq, payload=PAYLOAD))

    router = build_litestar_realtime_router(routes=routes, config=config)
    return Litestar(route_handlers=[router, trigger], logging_config=None)


def mic_fastapi() -> Any:
    """mic's room on FastAPI, triggered by a plain FastAPI route."""
    from fastapi import FastAPI

    from mic.fastapi import build_fastapi_realtime_router

    hub, routes, config = _mic_parts()
    app = FastAPI()
    app.include_router(build_fastapi_realtime_router(routes=routes, config=config))

    @app.post("/trigger", status_code=204)
    async def trigger(count: int, round: int) -> None:
        for seq in range(count):
            await hub.publish("bench", Tick(round=round, seq=seq, payload=PAYLOAD))

    return app


def _mic_parts() -> tuple[Any, Any, Any]:
    from mic.http import HttpRouterConfig
    from mic.realtime import RealtimeHub, Room, WebSocketRouteSpec

    hub = RealtimeHub()
    route = WebSocketRouteSpec(
        path="/ws/bench", name="bench", room=Room("bench", Tick), send_queue_size=MESSAGES * 4
    )
    return hub, [route], HttpRouterConfig(services={RealtimeHub: hub})


def litestar_channels() -> Any:
    """Litestar's channels plugin with its generated WebSocket handler at ``/ws/bench``."""
    from litestar import Litestar, post
    from litestar.channels import ChannelsPlugin
    from litestar.channels.backends.memory import MemoryChannelsBackend

    plugin = ChannelsPlugin(
        backend=MemoryChannelsBackend(),
        channels=["bench"],
        create_ws_route_handlers=True,
        ws_handler_base_path="/ws",
    )

    @post("/trigger", status_code=204)
    async def trigger(count: int, round: int) -> None:
        for seq in range(count):
            plugin.publish(_frame(round, seq), "bench")

    return Litestar(route_handlers=[trigger], plugins=[plugin], logging_config=None)


def starlette_loop() -> Any:
    """A plain Starlette WebSocket endpoint and a loop over the connected sockets."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    clients: set[WebSocket] = set()

    async def room(websocket: WebSocket) -> None:
        await websocket.accept()
        clients.add(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            clients.discard(websocket)

    async def trigger(request: Request) -> Response:
        count, round_ = int(request.query_params["count"]), int(request.query_params["round"])
        for seq in range(count):
            text = _frame(round_, seq)
            for websocket in tuple(clients):
                await websocket.send_text(text)
        return Response(status_code=204)

    return Starlette(
        routes=[WebSocketRoute("/ws/bench", room), Route("/trigger", trigger, methods=["POST"])]
    )


# --- The driver. ---


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _count(socket_: ClientConnection, marker: str, goal: int, done: asyncio.Event) -> int:
    seen = 0
    while seen < goal:
        if marker in await socket_.recv():
            seen += 1
    done.set()
    return seen


class _Room:
    """`CLIENTS` clients in the room of one server, and its trigger."""

    def __init__(self, port: int, pid: int) -> None:
        self.pid = pid
        self.base = f"127.0.0.1:{port}"
        self.http = httpx.AsyncClient(base_url=f"http://{self.base}")
        self.sockets: list[ClientConnection] = []

    async def join(self) -> None:
        self.sockets = [
            await connect(f"ws://{self.base}/ws/bench", compression=None, max_queue=None)
            for _ in range(CLIENTS)
        ]
        # Round 0 until every client hears it: the server has then subscribed everyone.
        waiting = [asyncio.create_task(s.recv()) for s in self.sockets]
        while not all(task.done() for task in waiting):
            await self.http.post("/trigger", params={"count": 1, "round": 0})
            await asyncio.wait(waiting, timeout=0.2)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def round(self, number: int) -> tuple[float, float]:
        """One broadcast round: frames per wall second, and server CPU seconds spent."""
        marker = f'"round":{number},'
        events = [asyncio.Event() for _ in self.sockets]
        counters = [
            asyncio.create_task(_count(s, marker, MESSAGES, e))
            for s, e in zip(self.sockets, events, strict=True)
        ]
        started, cpu = time.perf_counter(), self.cpu_seconds()
        await self.http.post("/trigger", params={"count": MESSAGES, "round": number})
        await asyncio.gather(*counters)
        frames = CLIENTS * MESSAGES
        return frames / (time.perf_counter() - started), self.cpu_seconds() - cpu

    async def leave(self) -> None:
        for socket_ in self.sockets:
            await socket_.close()
        await self.http.aclose()


async def _compare(ours: _Room, reference: _Room) -> list[tuple[float, float]]:
    # Rounds alternate between the two servers, so load from elsewhere on the machine
    # weighs on both figures alike; each figure is its best round.
    await ours.join()
    await reference.join()
    # Wall: the best round. CPU: all rounds together (one clock tick is 10 ms).
    best_wall, cpu_spent = [0.0, 0.0], [0.0, 0.0]
    for number in range(1, ROUNDS + 1):
        for index, room in enumerate((ours, reference)):
            wall, cpu = await room.round(number)
            best_wall[index] = max(best_wall[index], wall)
            cpu_spent[index] += cpu
    frames = CLIENTS * MESSAGES * ROUNDS
    best = [(best_wall[i], frames / cpu_spent[i]) for i in range(2)]
    await ours.leave()
    await reference.leave()
    return best


def _serve(factory: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"benchmarks.bench_realtime:{factory}",
            "--factory",
            "--port",
            str(port),
            "--ws",
            "websockets-sansio",
            "--ws-per-message-deflate",
            "false",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{factory} did not start")


def _pair(ours: str, reference: str) -> list[tuple[float, float]]:
    servers = [_serve(ours), _serve(reference)]
    rooms = [_Room(port, process.pid) for process, port in servers]
    try:
        return asyncio.run(_compare(*rooms))
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=20)


def main() -> None:
    """Print each pair's throughput and ratio."""
    print(
        f"{CLIENTS} clients in one room, {MESSAGES} broadcasts of {len(_frame(1, 1))} B, "
        f"best of {ROUNDS}"
    )
    for ours, reference in (
        ("mic_litestar", "litestar_channels"),
        ("mic_fastapi", "starlette_loop"),
    ):
        (ours_wall, ours_cpu), (reference_wall, reference_cpu) = _pair(ours, reference)
        print(f"{ours:>14}: {ours_wall:>9,.0f} frames/s, {ours_cpu:>9,.0f} per cpu-s")
        print(
            f"{reference:>14}: {reference_wall:>9,.0f} frames/s, {reference_cpu:>9,.0f} per cpu-s"
        )
        print(
            f"{'ratio':>14}: {ours_wall / reference_wall:>8.2f}x wall, "
            f"{ours_cpu / reference_cpu:>8.2f}x per server cpu-s"
        )


if __name__ == "__main__":
    main()

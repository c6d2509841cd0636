"""A unary call through mic.grpc vs a hand-written grpcio servicer of the same message.

Both servers run in this process on loopback and answer ``GetItem(item_id) -> Item``; the
hand-written one uses the protobuf message classes directly (as generated code would), mic
binds the request to a pydantic handler and encodes its pydantic answer. The client is
the same raw-bytes channel for both, so the ratio is what mic's server side costs.
Goal: ours >= 0.9x the reference.

Run: ``.venv/bin/python -m benchmarks.bench_grpc``; instructions per call under callgrind:
``.venv/bin/python -m benchmarks.bench_grpc --callgrind`` (about ten minutes: four runs under
valgrind, 50 and 450 calls per side; the difference divided by 400 is per call).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from typing import Any

import grpc
from mic.contracts import StrictSchema
from mic.grpc import GrpcMethodSpec, GrpcServiceSpec, build_grpc_server
from mic.grpc._contract import compile_method
from mic.grpc._protobuf import ProtoSchema

GOAL = 0.9
ROUNDS = 7  # best of 7 interleaved batches: a load burst on a shared box hits one, not all
BATCH = 400


class Item(StrictSchema):
    id: int
    name: str
    price: Decimal
    tags: list[str]


ITEMS = {1: Item(id=1, name="lamp", price=Decimal("19.90"), tags=["home", "light"])}


async def get_item(*, item_id: int) -> Item:
    return ITEMS[item_id]


SPEC = GrpcServiceSpec(
    name="Items", package="bench.v1", methods=(GrpcMethodSpec(name="GetItem", handler=get_item),)
)


def _messages() -> tuple[Any, Any]:
    schema = ProtoSchema([(SPEC, [compile_method(SPEC, SPEC.methods[0])])])
    pool = schema.pool
    from google.protobuf import message_factory

    request = message_factory.GetMessageClass(pool.FindMessageTypeByName("bench.v1.GetItemRequest"))
    item = message_factory.GetMessageClass(pool.FindMessageTypeByName("bench.v1.Item"))
    return request, item


def _reference_server() -> Any:
    request_class, item_class = _messages()
    stored = {1: item_class(id=1, name="lamp", price="19.90", tags=["home", "light"])}

    async def handler(request: Any, context: Any) -> Any:
        return stored[request.item_id]

    method = grpc.unary_unary_rpc_method_handler(
        handler,
        request_deserializer=request_class.FromString,
        response_serializer=item_class.SerializeToString,
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("bench.v1.Items", {"GetItem": method}),)
    )
    return server


async def _start(server: Any) -> Any:
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    return channel.unary_unary("/bench.v1.Items/GetItem")


async def _servers() -> tuple[Any, Any, list[Any]]:
    ours_server = build_grpc_server([SPEC], auth=None)
    reference_server = _reference_server()
    ours = await _start(ours_server)
    reference = await _start(reference_server)
    request = _messages()[0](item_id=1).SerializeToString()
    assert await ours(request) == await reference(request)  # the same bytes on the wire
    return ours, reference, [ours_server, reference_server]


async def _batch(call: Any, request: bytes, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await call(request)
    return time.perf_counter() - started


async def _wall_clock() -> tuple[float, float]:
    ours, reference, servers = await _servers()
    request = _messages()[0](item_id=1).SerializeToString()
    best_ours, best_reference = 0.0, 0.0
    for _ in range(ROUNDS):
        best_ours = max(best_ours, BATCH / await _batch(ours, request, BATCH))
        best_reference = max(best_reference, BATCH / await _batch(reference, request, BATCH))
    for server in servers:
        await server.stop(None)
    return best_ours, best_reference


async def _count(side: str, calls: int) -> None:
    ours, reference, servers = await _servers()
    request = _messages()[0](item_id=1).SerializeToString()
    await _batch(ours if side == "ours" else reference, request, calls)
    for server in servers:
        await server.stop(None)


def _instructions(side: str, calls: int) -> int:
    with tempfile.TemporaryDirectory() as directory:
        out = os.path.join(directory, "callgrind.out")
        subprocess.run(  # noqa: S603 - our own interpreter under valgrind
            [  # noqa: S607 - valgrind from PATH, as a person runs it
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "benchmarks.bench_grpc",
                "--count",
                side,
                str(calls),
            ],
            check=True,
            capture_output=True,
            timeout=900,
        )
        with open(out, encoding="utf-8") as handle:
            match = re.search(r"^(?:summary|totals): (\d+)", handle.read(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def _callgrind() -> None:
    low, high = 50, 450
    per_call = {
        side: (_instructions(side, high) - _instructions(side, low)) / (high - low)
        for side in ("ours", "reference")
    }
    ratio = per_call["reference"] / per_call["ours"]
    print(
        f"grpc unary (callgrind, whole process, client included): ours "
        f"{per_call['ours']:,.0f} instructions/call, reference {per_call['reference']:,.0f}, "
        f"ratio {ratio:.2f}x"
    )


def main() -> None:
    """Print ours, the reference and the ratio (wall clock)."""
    ours, reference = asyncio.run(_wall_clock())
    print(
        f"grpc unary GetItem: ours {ours:,.0f} calls/s, reference {reference:,.0f} calls/s, "
        f"ratio {ours / reference:.2f}x (goal >= {GOAL})"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--count"]:
        asyncio.run(_count(sys.argv[2], int(sys.argv[3])))
    elif sys.argv[1:2] == ["--callgrind"]:
        _callgrind()
    else:
        main()

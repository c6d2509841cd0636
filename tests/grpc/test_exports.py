"""The public surface of `mic.grpc` is pinned, and importing it needs no extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import mic.grpc

EXPECTED = [
    "HEALTH_METHODS",
    "PROBLEM_METADATA",
    "GrpcHealthService",
    "GrpcMethodSpec",
    "GrpcServiceClient",
    "GrpcServiceSpec",
    "GrpcSpecError",
    "ServiceAuthClientInterceptor",
    "ServiceAuthServerInterceptor",
    "authenticated_channel",
    "build_grpc_server",
    "error_from_rpc_error",
    "proto_files",
    "remaining_time",
    "status_code_for",
]


def test_public_names_are_pinned() -> None:
    assert sorted(EXPECTED) == sorted(mic.grpc.__all__)
    for name in mic.grpc.__all__:
        assert getattr(mic.grpc, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = mic.grpc.Nope  # type: ignore[attr-defined]


BLOCKED = """
import importlib.abc, sys
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"grpc", "grpc_health", "grpc_reflection", "google"}:
            raise ImportError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, Blocker())
"""


def test_importing_needs_no_extra_and_use_names_the_extra() -> None:
    script = BLOCKED + textwrap.dedent(
        """
        import sys
        import mic.grpc
        from mic.grpc import GrpcMethodSpec, GrpcServiceSpec
        async def ping(*, n: int) -> None: ...
        GrpcServiceSpec(name="S", package="p.v1", methods=(GrpcMethodSpec(name="Ping", handler=ping),))
        print(sorted(m for m in sys.modules if m.partition(".")[0] in {"grpc", "google", "grpc_health"}))
        from mic import MissingDependencyError
        try:
            mic.grpc.build_grpc_server
        except MissingDependencyError as error:
            print(error.extra, error)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert [
        "[]",
        "grpc 'grpc' is not installed; install it with: pip install 'mic-kit[grpc]'",
    ] == result.stdout.splitlines(), result.stderr

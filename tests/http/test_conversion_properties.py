"""Property tests: parameter conversion round-trips and rejects, identically on both adapters."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mic.http import HttpRouteSpec
from tests.support import build_app, client_for, wire


async def echo(
    *,
    n: int,
    f: float,
    b: bool,
    u: uuid.UUID,
    d: dt.date,
    s: str,
    tags: list[int] = [],  # noqa: B006
) -> dict[str, Any]:
    return {"n": n, "f": f, "b": b, "u": u, "d": d, "s": s, "tags": tags}


ROUTES = (HttpRouteSpec(method="GET", path="/echo/{n}", name="echo", category="t", handler=echo),)
APPS = {name: build_app(name, ROUTES) for name in ("fastapi", "litestar")}
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


async def _both(path: str) -> tuple[Any, Any]:
    answers = []
    for app in APPS.values():
        async with client_for(app) as client:
            answers.append(await client.get(path))
    return answers[0], answers[1]


@SETTINGS
@given(
    n=st.integers(-(2**62), 2**62),
    f=st.floats(allow_nan=False, allow_infinity=False),
    b=st.booleans(),
    u=st.uuids(),
    d=st.dates(),
    s=TEXT,
    tags=st.lists(st.integers(0, 10**6), max_size=4),
)
async def test_valid_values_round_trip(
    n: int, f: float, b: bool, u: uuid.UUID, d: dt.date, s: str, tags: list[int]
) -> None:
    query = urlencode(
        [("f", repr(f)), ("b", str(b).lower()), ("u", str(u)), ("d", d.isoformat()), ("s", s)]
        + [("tags", str(t)) for t in tags]
    )
    fastapi, litestar = await _both(f"/echo/{n}?{query}")
    assert wire(fastapi) == wire(litestar)
    assert {
        "n": n,
        "f": f,
        "b": b,
        "u": str(u),
        "d": d.isoformat(),
        "s": s,
        "tags": tags,
    } == fastapi.json()


@SETTINGS
@given(
    raw=st.text(st.characters(codec="ascii", categories=("L", "N", "P")), min_size=1, max_size=12)
)
async def test_invalid_integers_are_422_never_500(raw: str) -> None:
    fastapi, litestar = await _both(
        "/echo/1?"
        + urlencode(
            {
                "f": "1",
                "b": "true",
                "u": str(uuid.UUID(int=1)),
                "d": "2020-01-01",
                "s": "x",
                "tags": raw,
            }
        )
    )
    assert wire(fastapi) == wire(litestar)
    try:
        int(raw)
    except ValueError:
        assert fastapi.status_code == 422
        assert [e["loc"] for e in fastapi.json()["details"]["errors"]] == [["query", "tags", 0]]
    else:
        assert fastapi.status_code == 200

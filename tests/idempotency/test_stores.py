"""The `IdempotencyStore` behaviour, on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from mic.datastorage import create_sql_engine
from mic.idempotency import (
    IdempotencyRecord,
    IdempotencyStore,
    InMemoryIdempotencyStore,
    SqlIdempotencyStore,
    StoredResponse,
)
from mic.idempotency import _sql as sql_module

RESPONSE = StoredResponse(201, (("content-type", "application/json"), ("x-a", "1")), b'{"id":1}')


async def test_first_claim_wins_and_duplicates_see_it_in_flight(store: IdempotencyStore) -> None:
    assert await store.begin("k", "fp", "owner-1", lease=10) is None

    assert IdempotencyRecord("fp", "owner-1", None) == await store.begin(
        "k", "fp", "owner-2", lease=10
    )


async def test_concurrent_claims_have_exactly_one_winner(store: IdempotencyStore) -> None:
    results = await asyncio.gather(
        *(store.begin("k", "fp", f"owner-{n}", lease=10) for n in range(20))
    )

    assert sum(r is None for r in results) == 1


async def test_completed_record_is_returned_with_its_response(store: IdempotencyStore) -> None:
    await store.begin("k", "fp", "owner", lease=10)

    assert await store.complete("k", "owner", RESPONSE, ttl=10) is True
    assert IdempotencyRecord("fp", None, RESPONSE) == await store.begin("k", "fp", "o2", lease=10)


async def test_only_the_owner_completes_or_releases(store: IdempotencyStore) -> None:
    await store.begin("k", "fp", "owner", lease=10)

    assert await store.complete("k", "intruder", RESPONSE, ttl=10) is False
    assert await store.complete("missing", "owner", RESPONSE, ttl=10) is False
    await store.release("k", "intruder")
    assert (await store.begin("k", "fp", "o2", lease=10)) == IdempotencyRecord("fp", "owner", None)


async def test_release_frees_the_key(store: IdempotencyStore) -> None:
    await store.begin("k", "fp", "owner", lease=10)

    await store.release("k", "owner")

    assert await store.begin("k", "fp2", "retry", lease=10) is None


async def test_expired_claims_and_records_are_taken_over(
    store: IdempotencyStore, outlive: Callable[[float], Awaitable[None]]
) -> None:
    await store.begin("crashed", "fp", "owner", lease=0.05)
    await store.begin("done", "fp", "owner", lease=10)
    await store.complete("done", "owner", RESPONSE, ttl=0.05)

    await outlive(0.05)

    assert await store.begin("crashed", "fp", "new", lease=10) is None
    assert await store.begin("done", "other", "new", lease=10) is None
    assert await store.complete("crashed", "owner", RESPONSE, ttl=10) is False


async def test_memory_store_expiry_follows_the_clock() -> None:
    now = [0.0]
    store = InMemoryIdempotencyStore(clock=lambda: now[0])
    await store.begin("k", "fp", "owner", lease=5)

    now[0] = 4.9
    assert await store.begin("k", "fp", "new", lease=5) is not None
    now[0] = 5.0
    assert await store.begin("k", "fp", "new", lease=5) is None


def test_record_json_round_trip() -> None:
    record = IdempotencyRecord("fp", None, StoredResponse(200, (("a", "b"),), b"\x00\xff"))

    assert record == IdempotencyRecord.from_json(record.to_json())
    in_flight = IdempotencyRecord("fp", "o", None)
    assert in_flight == IdempotencyRecord.from_json(in_flight.to_json())


async def test_memory_store_forgets_expired_keys() -> None:
    """Expired records are swept as the store grows: memory follows the live keys only."""
    now = [0.0]
    store = InMemoryIdempotencyStore(clock=lambda: now[0])
    for n in range(3000):
        await store.begin(f"old-{n}", "fp", "o", lease=1)
    now[0] = 2.0
    for n in range(3000):
        await store.begin(f"new-{n}", "fp", "o", lease=1)

    assert store.purge_expired() < 3000  # most of the old keys were already swept
    now[0] = 4.0
    assert store.purge_expired() == 3000
    assert await store.begin("new-1", "fp", "o", lease=1) is None


async def test_sql_store_purges_while_claiming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_module, "PURGE_EVERY", 2)
    now = [0.0]
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'auto.db'}")
    store = SqlIdempotencyStore(engine, clock=lambda: now[0])
    await store.create_schema()
    try:
        await store.begin("old", "fp", "o", lease=1)
        now[0] = 5.0
        await store.begin("new", "fp", "o", lease=1)  # the second claim purges "old"

        assert await store.purge_expired() == 0
    finally:
        await engine.dispose()


async def test_sql_store_purges_expired_records(tmp_path: Path) -> None:
    now = [0.0]
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'purge.db'}")
    store = SqlIdempotencyStore(engine, clock=lambda: now[0])
    await store.create_schema()
    try:
        await store.begin("crashed", "fp", "o", lease=1)
        await store.begin("done", "fp", "o", lease=1)
        await store.complete("done", "o", RESPONSE, ttl=10)
        now[0] = 5.0

        assert await store.purge_expired() == 1
        assert await store.begin("done", "fp", "o2", lease=1) == IdempotencyRecord(
            "fp", None, RESPONSE
        )
    finally:
        await engine.dispose()

"""`ShardedDataStorage` on in-memory shards and on three real PostgreSQL databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mic.datastorage import (
    DataStorage,
    Filter,
    InMemoryDataStorage,
    SqlDataStorage,
)
from mic.model import NotFoundError
from mic.shard import (
    CrossShardQueryError,
    ShardedDatabase,
    ShardedDataStorage,
    ShardKeyMissingError,
    ShardSelector,
)
from tests.conftest import POSTGRES_URL, require_service

from .models import Account

TENANTS = [f"tenant-{n}" for n in range(12)]


@pytest.fixture(scope="module")
def database_urls() -> Iterator[dict[str, str]]:
    """Three databases with unique names on the local server, dropped after the module."""
    import psycopg

    require_service("PostgreSQL", "127.0.0.1", 5432)
    url = POSTGRES_URL
    names = [f"mic_shard_{uuid.uuid4().hex[:12]}_{n}" for n in range(3)]
    base = make_url(url)
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        for name in names:
            connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            f"s{n}": base.set(database=name).render_as_string(hide_password=False)
            for n, name in enumerate(names)
        }
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            for name in names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
async def sharded(request: pytest.FixtureRequest) -> AsyncIterator[ShardedDataStorage[Account]]:
    """Three shards: in-memory storages, or three real PostgreSQL databases (tables dropped)."""
    if request.param == "memory":
        yield ShardedDataStorage(
            {name: InMemoryDataStorage(Account) for name in ("s0", "s1", "s2")},
            shard_key="tenant_id",
        )
        return
    database = ShardedDatabase.from_urls(request.getfixturevalue("database_urls"))
    storage = database.storage(Account, shard_key="tenant_id")
    shards = [shard for shard in storage.shards.values() if isinstance(shard, SqlDataStorage)]
    for shard in shards:
        await shard.create_schema()
    try:
        yield storage
    finally:
        for shard in shards:
            await shard.drop_schema()
        await database.dispose()


async def _seed(storage: ShardedDataStorage[Account]) -> None:
    for n, tenant in enumerate(TENANTS):
        for m in range(2):
            await storage.add(
                Account(
                    id=f"{tenant}-{m}", tenant_id=tenant, name=f"acc {n}-{m}", balance=n * 10 + m
                )
            )


async def test_records_land_on_their_tenants_shard(sharded: ShardedDataStorage[Account]) -> None:
    await _seed(sharded)
    for tenant in TENANTS:
        home = sharded.for_key(tenant)
        assert 2 == await home.count({"tenant_id": tenant})
        others = [s for s in sharded.shards.values() if s is not home]
        assert [0, 0] == [await other.count({"tenant_id": tenant}) for other in others]
    per_shard = [await shard.count() for shard in sharded.shards.values()]
    assert 24 == sum(per_shard)
    assert all(count > 0 for count in per_shard)  # 12 tenants spread over all three


async def test_queries_naming_the_tenant_are_routed(sharded: ShardedDataStorage[Account]) -> None:
    await _seed(sharded)
    page = await sharded.list({"tenant_id": "tenant-3"}, order_by=["-balance"])
    assert ["tenant-3-1", "tenant-3-0"] == [account.id for account in page.items]
    assert 2 == await sharded.count(
        [Filter("tenant_id", "eq", "tenant-3"), Filter("balance", "ge", 0)]
    )
    stored = await sharded.for_key("tenant-3").get("tenant-3-0")
    assert stored is not None
    updated = await sharded.update(stored.model_copy(update={"name": "renamed"}))
    assert 2 == updated.version
    await sharded.for_key("tenant-3").delete("tenant-3-0")
    with pytest.raises(NotFoundError, match="no record"):
        await sharded.for_key("tenant-3").delete("tenant-3-0")


async def test_cross_shard_operations_are_refused(sharded: ShardedDataStorage[Account]) -> None:
    await _seed(sharded)
    with pytest.raises(
        CrossShardQueryError, match=r"list would touch every shard; filter on 'tenant_id'"
    ):
        await sharded.list({"balance": 3})
    with pytest.raises(CrossShardQueryError, match="count_across_shards"):
        await sharded.count([Filter("tenant_id", "ne", "tenant-1")])
    with pytest.raises(CrossShardQueryError, match="get_across_shards"):
        await sharded.get("tenant-1-0")
    with pytest.raises(CrossShardQueryError, match="for_key"):
        await sharded.delete("tenant-1-0")
    with pytest.raises(CrossShardQueryError, match="open it on one shard") as caught:
        sharded.unit_of_work()
    assert 400 == caught.value.http_status_code


async def test_cross_shard_operations_asked_for_explicitly(
    sharded: ShardedDataStorage[Account],
) -> None:
    await _seed(sharded)
    found = await sharded.get_across_shards("tenant-7-1")
    assert found is not None
    assert "tenant-7" == found.tenant_id
    assert await sharded.get_across_shards("nobody") is None
    assert 24 == await sharded.count_across_shards()
    assert 12 == await sharded.count_across_shards([Filter("balance", "ge", 60)])
    richest = await sharded.list_across_shards(order_by=["-balance"], limit=3)
    assert [111, 110, 101] == [account.balance for account in richest]
    by_id = await sharded.list_across_shards(limit=2)
    assert ["tenant-0-0", "tenant-0-1"] == [account.id for account in by_id]
    head = await sharded.list_across_shards(order_by=["balance"])  # default page per shard
    assert [0, 1, 10] == [account.balance for account in head[:3]]
    assert 24 == len(head)


async def test_a_record_without_its_shard_key_is_refused(
    sharded: ShardedDataStorage[Account],
) -> None:
    for tenant in (None, ""):
        with pytest.raises(ShardKeyMissingError, match=r"Account\.tenant_id is needed") as caught:
            await sharded.add(Account(id="x", tenant_id=tenant, name="x"))
        assert {"field": "tenant_id"} == caught.value.details
    with pytest.raises(ShardKeyMissingError, match="needed to choose a shard"):
        await sharded.update(Account(id="x", name="x"))
    with pytest.raises(ShardKeyMissingError, match="shard key"):
        await sharded.list({"tenant_id": None})
    assert 0 == await sharded.count_across_shards()


async def test_a_unit_of_work_on_one_shard(sharded: ShardedDataStorage[Account]) -> None:
    home = sharded.for_key("acme")

    async def fails() -> None:
        async with home.unit_of_work():
            await sharded.add(Account(id="a1", tenant_id="acme", name="a"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fails()
    assert 0 == await sharded.count({"tenant_id": "acme"})
    async with home.unit_of_work():
        await sharded.add(Account(id="a1", tenant_id="acme", name="a"))
    assert 1 == await sharded.count({"tenant_id": "acme"})


def test_bad_configurations_are_refused() -> None:
    shard: DataStorage[Account] = InMemoryDataStorage(Account)
    with pytest.raises(ValueError, match="at least one shard"):
        ShardedDataStorage({}, shard_key="tenant_id")
    with pytest.raises(ValueError, match="has no field 'tenant'"):
        ShardedDataStorage({"a": shard}, shard_key="tenant")
    with pytest.raises(ValueError, match="same model"):
        ShardedDataStorage({"a": shard, "b": InMemoryDataStorage(Other)}, shard_key="tenant_id")  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="selector's shards"):
        ShardedDataStorage({"a": shard}, shard_key="tenant_id", selector=ShardSelector(["b"]))
    with pytest.raises(ValueError, match="at least one engine"):
        ShardedDatabase({})
    with pytest.raises(ValueError, match="selector's shards"):
        ShardedDatabase({"a": object()}, selector=ShardSelector(["b"]))  # type: ignore[dict-item]
    sharded = ShardedDataStorage({"a": shard}, shard_key="tenant_id")
    assert "ShardedDataStorage(Account, shards=['a'])" == repr(sharded)


class Other(Account):
    pass


@pytest.mark.postgres
async def test_engine_for_names_the_tenants_database(database_urls: dict[str, str]) -> None:
    database = ShardedDatabase.from_urls(database_urls)
    try:
        async with database.engine_for("acme").connect() as connection:
            name = (await connection.execute(text("SELECT current_database()"))).scalar_one()
    finally:
        await database.dispose()
    assert name.endswith(f"_{database.selector.index_for('acme')}")

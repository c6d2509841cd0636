"""One behaviour suite for every `ApiKeyStore`: memory, SQLite, and the real PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mic.auth import ApiKeyStore, InMemoryApiKeyStore, SqlApiKeyStore


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[ApiKeyStore]:
    if request.param == "memory":
        yield InMemoryApiKeyStore()
        return
    from sqlalchemy.ext.asyncio import create_async_engine

    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"
    else:
        base: str = request.getfixturevalue("postgres_url")
        url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_async_engine(url)
    sql_store = SqlApiKeyStore(engine, table_name=f"api_keys_{uuid.uuid4().hex[:12]}")
    await sql_store.create_schema()
    try:
        yield sql_store
    finally:
        await sql_store.drop_schema()
        await engine.dispose()


async def test_create_and_verify(store: ApiKeyStore) -> None:
    issued = await store.create("partner", scopes=["b", "a"])
    assert issued.secret.startswith(f"mic_{issued.key.key_id}_")
    assert issued.secret not in repr(issued)
    record = await store.verify(issued.secret)
    assert record == issued.key
    assert record is not None
    assert (record.name, record.scopes, record.revoked) == ("partner", {"a", "b"}, False)
    assert record.created_at.tzinfo is not None


async def test_wrong_or_malformed_keys(store: ApiKeyStore) -> None:
    issued = await store.create("partner")
    prefix = issued.secret[: -len("x")]
    other = await store.create("other")
    for presented in ("", "nope", prefix + ("A" if issued.secret[-1] != "A" else "B"),
                      f"mic_{issued.key.key_id}_{other.secret.rsplit('_', 1)[-1]}",
                      "mic_0000000000000000_" + "a" * 43, issued.secret + " "):  # fmt: skip
        assert await store.verify(presented) is None


async def test_revoke(store: ApiKeyStore) -> None:
    issued = await store.create("partner")
    assert await store.revoke(issued.key.key_id) is True
    assert await store.verify(issued.secret) is None
    first = await store.get(issued.key.key_id)
    assert first is not None
    assert first.revoked
    assert await store.revoke(issued.key.key_id) is True  # idempotent, keeps the date
    assert await store.get(issued.key.key_id) == first
    assert await store.revoke("0000000000000000") is False
    assert await store.get("0000000000000000") is None


async def test_list_keys(store: ApiKeyStore) -> None:
    first = await store.create("one")
    second = await store.create("two", scopes=["s"])
    assert [k.key_id for k in await store.list_keys()] == [first.key.key_id, second.key.key_id]


async def test_bad_arguments(store: ApiKeyStore) -> None:
    with pytest.raises(ValueError, match="needs a name"):
        await store.create("")
    with pytest.raises(ValueError, match="scope token"):
        await store.create("x", scopes=["a b"])


async def test_sql_store_keeps_only_the_digest(tmp_path: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'k.db'}")
    store = SqlApiKeyStore(engine)
    await store.create_schema()
    issued = await store.create("partner")
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM mic_api_keys"))).all()
    await engine.dispose()
    flat = " ".join(str(value) for value in rows[0])
    assert issued.secret.rsplit("_", 1)[-1] not in flat
    assert hashlib.sha256(issued.secret.encode()).hexdigest() in flat


def test_sql_store_refuses_odd_table_names() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("sqlite+aiosqlite://")
    with pytest.raises(ValueError, match="plain SQL identifier"):
        SqlApiKeyStore(engine, table_name="keys; DROP TABLE x")


# --- review hardening (issue 3) -------------------------------------------------------


@pytest.mark.parametrize("name", ["x" * 201, "a\x00b", "line\nbreak", 7])
async def test_names_are_checked_the_same_on_every_backend(store: ApiKeyStore, name: Any) -> None:
    """PostgreSQL would raise a driver error (too long, NUL) where memory accepted the name."""
    with pytest.raises(ValueError, match=r"needs a name|printable and at most 200"):
        await store.create(name)
    assert await store.list_keys() == []
    assert (await store.create("é" * 200)).key.name == "é" * 200


@pytest.mark.postgres
async def test_revocation_is_seen_by_every_store_instance_on_postgres(postgres_url: str) -> None:
    """Two processes (two engines, two stores, one table): no instance caches a verdict."""
    from sqlalchemy.ext.asyncio import create_async_engine

    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    table = f"api_keys_{uuid.uuid4().hex[:12]}"
    engines = [create_async_engine(url), create_async_engine(url)]
    issuing, checking = (SqlApiKeyStore(engine, table_name=table) for engine in engines)
    await issuing.create_schema()
    try:
        issued = await issuing.create("partner", scopes=["read"])
        assert await checking.verify(issued.secret) == issued.key
        assert await checking.revoke(issued.key.key_id) is True
        assert await issuing.verify(issued.secret) is None
        assert await checking.verify(issued.secret) is None
        record = await issuing.get(issued.key.key_id)
        assert record is not None
        assert record.revoked
    finally:
        await issuing.drop_schema()
        for engine in engines:
            await engine.dispose()


async def test_digest_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest is compared with `hmac.compare_digest`, never with ``==``."""
    import hmac

    from mic.auth import _api_keys

    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(_api_keys.hmac, "compare_digest", recording)
    store = InMemoryApiKeyStore()
    issued = await store.create("partner")
    wrong = issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B")
    assert await store.verify(wrong) is None
    assert await store.verify(issued.secret) == issued.key
    assert len(calls) == 2


async def test_the_former_table_verbs_still_work_with_a_deprecation_warning(
    tmp_path: Any,
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}")
    sql_store = SqlApiKeyStore(engine)
    with pytest.warns(DeprecationWarning, match=r"create_table\(\) is deprecated"):
        await sql_store.create_table()
    issued = await sql_store.create("partner")
    assert (await sql_store.verify(issued.secret)) is not None
    with pytest.warns(DeprecationWarning, match=r"drop_table\(\) is deprecated"):
        await sql_store.drop_table()
    await engine.dispose()

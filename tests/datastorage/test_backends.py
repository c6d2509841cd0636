"""What is specific to one backend: configuration errors, error translation, flavours."""

from __future__ import annotations

import asyncio
import enum
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, Literal

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.schema import CreateSchema, DropSchema
from sqlmodel import Field, Session, SQLModel, select

from mic import MissingDependencyError
from mic.datastorage import (
    DataStorage,
    Document,
    Filter,
    InMemoryDataStorage,
    InMemoryDocumentDataStorage,
    InMemoryKeyValueDataStorage,
    KeyValueEntry,
    SqlDataStorage,
    StorageOptions,
    create_sql_engine,
)
from mic.model import ConflictError, TransientError, ValidationFailedError

from .models import Item, Profile, Tag


class NoVersion(BaseModel):
    id: int


class OptionalId(BaseModel):
    id: int | None = None
    version: int = 0


class Renamed(SQLModel, table=True):
    __tablename__ = "mic_test_renamed"

    id: int = Field(primary_key=True)
    version: int = 0
    label: str = Field(sa_column_kwargs={"name": "label_text"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_page_size": 0}, "max_page_size must be >= 1"),
        ({"default_page_size": 0}, "default_page_size must be between"),
        ({"default_page_size": 20, "max_page_size": 10}, "default_page_size must be between"),
        ({"max_filter_values": 0}, "max_filter_values must be between 1 and 10000"),
    ],
)
def test_storage_options_reject_bad_limits(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StorageOptions(**kwargs)


async def test_options_bound_the_page_size() -> None:
    storage = InMemoryDataStorage(
        Item, options=StorageOptions(default_page_size=2, max_page_size=3)
    )
    for n in range(4):
        await storage.add(Item(id=n, name="x", price=1.0))

    page = await storage.list(order_by="-id")

    assert [row.id for row in page.items] == [3, 2]
    with pytest.raises(ValidationFailedError, match="between 1 and 3"):
        await storage.list(limit=4)


@pytest.mark.parametrize(
    ("model", "message"),
    [(NoVersion, "needs an 'version' field"), (OptionalId, "id must not be optional")],
)
def test_models_without_id_or_version_are_refused(model: type[BaseModel], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        InMemoryDataStorage(model)


def test_sql_storage_refuses_models_it_cannot_map() -> None:
    engine = create_sql_engine("sqlite://")
    with pytest.raises(TypeError, match="is not a SQLModel table model"):
        SqlDataStorage(Document, engine)
    with pytest.raises(TypeError, match=r"without a column of the same name: \['label'\]"):
        SqlDataStorage(Renamed, engine)


class UnmappedWithTable(BaseModel):
    """A table beside the model, but no mapper: not something the ORM can instantiate."""

    __table__: ClassVar[sa.Table] = sa.Table(
        "mic_test_unmapped", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True)
    )

    id: int
    version: int = 0


def test_sql_storage_refuses_a_table_without_a_mapped_model() -> None:
    with pytest.raises(TypeError, match="UnmappedWithTable is not a SQLModel table model"):
        SqlDataStorage(UnmappedWithTable, create_sql_engine("sqlite://"))


async def test_sql_records_are_what_model_validate_makes(tmp_path: Path) -> None:
    """Records handed back compare equal to `model_validate`'s and work with an ORM session."""
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'records.db'}")
    items = SqlDataStorage(Item, engine)
    await items.create_schema()
    try:
        added = await items.add(Item(id=1, name="a", price=1.0))
        fetched = await items.get(1)
        assert fetched is not None
        updated = await items.update(fetched.model_copy(update={"name": "b"}))
        (listed,) = (await items.list()).items
    finally:
        await engine.dispose()
    first = {"id": 1, "version": 1, "name": "a", "price": 1.0, "category": None}
    second = {**first, "version": 2, "name": "b"}
    for record, values in [(added, first), (fetched, first), (updated, second), (listed, second)]:
        expected = Item.model_validate(values)
        assert expected == record
        assert expected.__pydantic_fields_set__ == record.__pydantic_fields_set__
        assert sa.inspect(record).transient

    other = sa.create_engine("sqlite://")
    try:
        Item.__table__.create(other)  # type: ignore[attr-defined]
        with Session(other) as session:
            session.add(listed)
            session.commit()
            assert ["b"] == [row.name for row in session.exec(select(Item))]
    finally:
        other.dispose()


def test_reprs_name_the_model() -> None:
    engine = create_sql_engine("sqlite://")

    assert repr(InMemoryDataStorage(Item)) == "InMemoryDataStorage(Item)"
    assert repr(SqlDataStorage(Item, engine)) == "SqlDataStorage(Item, 'sqlite+aiosqlite://')"


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite://", "sqlite+aiosqlite"),
        ("sqlite:///x.db", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
    ],
)
def test_create_sql_engine_picks_the_async_driver(url: str, driver: str) -> None:
    assert driver == create_sql_engine(url).url.drivername


def test_missing_sql_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sqlmodel", None)

    with pytest.raises(MissingDependencyError, match=r"pip install 'mic-kit\[sql\]'"):
        create_sql_engine("sqlite://")


async def test_unreachable_database_is_a_transient_error() -> None:
    engine = create_sql_engine("postgresql://postgres@127.0.0.1:1/none")
    storage = SqlDataStorage(Item, engine)

    with pytest.raises(TransientError, match="not reachable"):
        await storage.get(1)
    with pytest.raises(TransientError, match="not reachable"):
        async with storage.unit_of_work():
            pass  # pragma: no cover - the transaction cannot start
    await engine.dispose()


@pytest.mark.postgres
async def test_postgres_value_too_long_is_a_validation_error(postgres_url: str) -> None:
    base = create_sql_engine(postgres_url)
    schema = f"mic_t_{uuid.uuid4().hex[:12]}"
    async with base.begin() as connection:
        await connection.execute(CreateSchema(schema))
    engine = base.execution_options(schema_translate_map={None: schema})
    tags = SqlDataStorage(Tag, engine)
    try:
        with pytest.raises(Exception, match="does not exist"):
            await tags.get("t")  # no table yet: a programming error is not translated
        await tags.create_schema()
        # Valid for the model, refused by PostgreSQL (no NUL in text): the driver's
        # DataError is the storage's ValidationFailedError.
        with pytest.raises(ValidationFailedError, match="does not fit its column"):
            await tags.add(Tag(id="a\x00b", version=0, label="nul"))
        with pytest.raises(ValidationFailedError, match="not valid for its model"):
            await tags.add(Tag.model_construct(id="x" * 30, version=0, label="long"))
        await tags.drop_schema()
    finally:
        async with base.begin() as connection:
            await connection.execute(DropSchema(schema, cascade=True))
        await base.dispose()


async def test_memory_commit_fails_whole_when_a_record_changed_meanwhile() -> None:
    items = InMemoryDataStorage(Item)
    stored = await items.add(Item(id=1, name="a", price=1.0))
    inside = asyncio.Event()
    outside_done = asyncio.Event()

    async def unit() -> None:
        async with items.unit_of_work():
            await items.add(Item(id=2, name="b", price=1.0))
            await items.update(stored.model_copy(update={"name": "mine"}))
            inside.set()
            await outside_done.wait()

    task = asyncio.create_task(unit())
    await inside.wait()
    await items.update(stored.model_copy(update={"name": "theirs"}))
    outside_done.set()

    with pytest.raises(ConflictError, match="changed by someone else"):
        await task
    assert [row.name for row in (await items.list()).items] == ["theirs"]


async def test_key_value_flavour_puts_and_reads_values() -> None:
    kv = InMemoryKeyValueDataStorage()

    first = await kv.put("feature", {"enabled": True})
    second = await kv.put("feature", {"enabled": False})

    assert (first.version, second.version) == (1, 2)
    assert await kv.get_value("feature") == {"enabled": False}
    assert await kv.get_value("absent") is None
    assert KeyValueEntry(id="feature", version=2, value={"enabled": False}) == await kv.get(
        "feature"
    )


async def test_key_value_put_from_threads_never_loses_the_entry() -> None:
    kv = InMemoryKeyValueDataStorage()

    def worker(n: int) -> None:
        for i in range(50):
            asyncio.run(kv.put("shared", [n, i]))

    await asyncio.gather(*(asyncio.to_thread(worker, n) for n in range(4)))

    entry = await kv.get("shared")
    assert entry is not None
    assert entry.version == 200


async def test_document_flavour_finds_by_body_fields() -> None:
    docs = InMemoryDocumentDataStorage()
    await docs.add(Document(id="b", data={"kind": "note", "pinned": True}))
    await docs.add(Document(id="a", data={"kind": "note", "pinned": False}))
    await docs.add(Document(id="c", data={"kind": "task"}))

    assert [d.id for d in await docs.find({"kind": "note"})] == ["a", "b"]
    assert [d.id for d in await docs.find({"kind": "note", "pinned": True})] == ["b"]
    assert [d.id for d in await docs.find({"kind": "note"}, limit=1)] == ["a"]
    assert await docs.find({"missing": 1}) == []
    with pytest.raises(ValidationFailedError, match="limit must be between 1 and 1000"):
        await docs.find({}, limit=0)


async def test_sqlite_file_database_persists_across_engines(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'persist.db'}"
    first = create_sql_engine(url)
    storage = SqlDataStorage(Item, first)
    await storage.create_schema()
    await storage.add(Item(id=1, name="kept", price=1.0))
    await first.dispose()

    second = create_sql_engine(url)
    reopened = await SqlDataStorage(Item, second).get(1)
    await second.dispose()

    assert reopened is not None
    assert reopened.name == "kept"


@pytest.mark.parametrize(
    "kind", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_json_fields_cannot_be_filtered_or_ordered(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """PostgreSQL has no order (nor equality) on json: a 422 everywhere, never a SQL error."""
    engine = None
    schema = f"mic_t_{uuid.uuid4().hex[:12]}"
    if kind == "memory":
        profiles: DataStorage[Profile] = InMemoryDataStorage(Profile)
    else:
        url = "sqlite://" if kind == "sqlite" else request.getfixturevalue("postgres_url")
        engine = create_sql_engine(url)
        if kind == "postgres":
            async with engine.begin() as connection:
                await connection.execute(CreateSchema(schema))
        sql = SqlDataStorage(
            Profile,
            engine.execution_options(
                schema_translate_map={None: schema} if kind == "postgres" else {}
            ),
        )
        await sql.create_schema()
        profiles = sql
    try:
        await profiles.add(Profile(id=1, settings={"theme": "dark"}))
        for call, message in [
            (profiles.list(order_by=["settings"]), "cannot order on field 'settings'"),
            (profiles.list({"settings": {"theme": "dark"}}), "cannot filter on field 'settings'"),
            (profiles.count([Filter("settings", "in", [{}])]), "cannot filter on field"),
        ]:
            with pytest.raises(ValidationFailedError, match=message):
                await call
        assert [1] == [p.id for p in (await profiles.list({"name": ""})).items]
    finally:
        if engine is not None:
            if kind == "postgres":
                async with engine.begin() as connection:
                    await connection.execute(DropSchema(schema, cascade=True))
            await engine.dispose()


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    city: str


class Rich(BaseModel):
    id: int
    version: int = 0
    colour: Colour = Colour.RED
    kind: Literal["a", "b"] = "a"
    address: Address = Address(city="x")
    hook: Callable[[], None] | None = None


@pytest.mark.parametrize(
    ("field", "allowed"),
    [("colour", True), ("kind", True), ("address", False), ("hook", False)],
)
async def test_only_scalar_fields_can_be_ordered(field: str, allowed: bool) -> None:
    """Enums and literals order; nested models and types without a JSON schema do not."""
    storage = InMemoryDataStorage(Rich)
    await storage.add(Rich(id=1))

    if allowed:
        assert [1] == [r.id for r in (await storage.list(order_by=[field])).items]
    else:
        with pytest.raises(ValidationFailedError, match=f"cannot order on field '{field}'"):
            await storage.list(order_by=[field])


async def test_current_unit_of_work_is_visible_only_inside_it() -> None:
    """`current()` lets components that write beside a storage (the outbox) join its unit."""
    from pydantic import BaseModel

    from mic.datastorage import InMemoryDataStorage, InMemoryUnitOfWork, SqlUnitOfWork

    class Thing(BaseModel):
        id: int
        version: int = 0

    storage = InMemoryDataStorage(Thing)
    assert None is InMemoryUnitOfWork.current()
    async with storage.unit_of_work() as uow:
        assert uow is InMemoryUnitOfWork.current()
        assert None is SqlUnitOfWork.current()
    assert None is InMemoryUnitOfWork.current()

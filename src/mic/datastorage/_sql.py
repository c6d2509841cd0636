"""`SqlDataStorage`: the `DataStorage` contract on a SQLModel table, through SQLAlchemy asyncio.

Statements are built with SQLAlchemy Core against the model's table (never from strings), so
every value is a bound parameter. SQLite (aiosqlite) and PostgreSQL (psycopg 3) behave the
same; the behaviour suite runs on both. Requires the ``sql`` extra (``postgres`` for psycopg).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from mic._deps import require
from mic._ping import ping_sql
from mic.datastorage._base import (
    DataStorage,
    Filter,
    Filters,
    ModelT,
    Page,
    StorageOptions,
    UnitOfWork,
)
from mic.datastorage._query import ModelSchema, OrderKey, checked_record
from mic.model import ConflictError, NotFoundError, TransientError, ValidationFailedError

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Connection, Table
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")

_active: ContextVar[SqlUnitOfWork | None] = ContextVar("mic_sql_uow", default=None)

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


def create_sql_engine(url: str, **engine_options: Any) -> AsyncEngine:
    """An `AsyncEngine` for `url` with defaults that make SQLite and PostgreSQL behave alike.

    ``sqlite://`` and ``postgresql://`` URLs get their async driver (aiosqlite, psycopg 3).
    An in-memory SQLite database lives in one connection, so its pool holds exactly one
    connection, which tasks take in turn (a second connection would see an empty database).

    Args:
        url: Database URL (``sqlite+aiosqlite:///app.db``, ``postgresql+psycopg://...``).
        engine_options: Passed to `sqlalchemy.ext.asyncio.create_async_engine`.

    Raises:
        MissingDependencyError: The ``sql`` (or ``postgres``) extra is not installed.
    """
    require("sqlmodel", "sql")
    sa_url = require("sqlalchemy.engine", "sql").make_url(url)
    driver = _DRIVERS.get(sa_url.drivername)
    if driver is not None:
        sa_url = sa_url.set(drivername=driver)
    if sa_url.get_backend_name() == "postgresql":
        require("psycopg", "postgres")
    else:
        require("aiosqlite", "sql")
    if sa_url.get_backend_name() == "sqlite" and sa_url.database in (None, "", ":memory:"):
        pool = require("sqlalchemy.pool", "sql")
        engine_options.setdefault("poolclass", pool.AsyncAdaptedQueuePool)
        engine_options.setdefault("pool_size", 1)
        engine_options.setdefault("max_overflow", 0)
    create = require("sqlalchemy.ext.asyncio", "sql").create_async_engine
    engine: AsyncEngine = create(sa_url, **engine_options)
    return engine


class SqlUnitOfWork(UnitOfWork):
    """A database transaction that every `SqlDataStorage` on the same engine joins.

    Attributes:
        engine: The engine the transaction runs on.
        connection: The transaction's connection: write to it (an outbox table, raw Core
            statements) to take part in the same commit or rollback. Use it from one task
            at a time; storages take `lock` around each statement.
    """

    @classmethod
    def current(cls) -> SqlUnitOfWork | None:
        """The SQL unit of work open in this task (the innermost one), or ``None``.

        Components that write beside a storage (the outbox) join it through `connection`.
        """
        return _active.get()

    def __init__(self, engine: AsyncEngine, connection: AsyncConnection) -> None:
        super().__init__()
        self.engine = engine
        self.connection = connection
        self.lock = asyncio.Lock()


def _translate(error: Exception) -> Exception:
    """A `DomainError` for a database error a caller may see; other errors stay as they are."""
    exc = require("sqlalchemy.exc", "sql")
    if isinstance(error, exc.IntegrityError):
        return ConflictError("already_exists", "the record conflicts with an existing one")
    if isinstance(error, exc.DataError):
        return ValidationFailedError("invalid_value", "a value does not fit its column")
    if isinstance(error, exc.OperationalError | exc.InterfaceError):
        return TransientError("storage_unavailable", "the database is not reachable")
    return error


def _in_transaction(connection: Connection, work: Callable[[Connection], T]) -> T:
    """`work` in a transaction of its own, committed when it returns, rolled back if it raises."""
    with connection.begin():
        return work(connection)


def _in_savepoint(connection: Connection, work: Callable[[Connection], T]) -> T:
    """`work` in a SAVEPOINT of the open transaction, rolled back alone if it raises."""
    with connection.begin_nested():
        return work(connection)


async def _begin_sqlite_transaction(connection: AsyncConnection) -> None:
    """Make sure SQLite has really begun the transaction before a SAVEPOINT.

    sqlite3 (and so aiosqlite) sends BEGIN lazily, before the first write. A SAVEPOINT sent
    first opens a transaction of its own, and releasing it commits: the outer rollback would
    then undo nothing. Sending BEGIN first keeps the savepoint inside the unit of work.
    """
    if connection.dialect.name != "sqlite":
        return
    raw = await connection.get_raw_connection()
    if not getattr(raw.driver_connection, "in_transaction", True):
        await connection.exec_driver_sql("BEGIN")


class SqlDataStorage(DataStorage[ModelT], Generic[ModelT]):
    """`DataStorage` on a SQLModel table model (``table=True``) and an async engine.

    Args:
        model: A SQLModel table model with ``id`` (primary key) and ``version`` fields; each
            field must map to a column of the same name.
        engine: An `AsyncEngine` (see `create_sql_engine`).
        options: Page size limits.

    Raises:
        MissingDependencyError: The ``sql`` extra is not installed.
        TypeError: The model is not a table model or lacks ``id``/``version``.
    """

    def __init__(
        self, model: type[ModelT], engine: AsyncEngine, *, options: StorageOptions | None = None
    ) -> None:
        sa = require("sqlalchemy", "sql")
        require("sqlmodel", "sql")
        table = getattr(model, "__table__", None)
        mapper = sa.inspect(model, raiseerr=False)
        if not isinstance(table, sa.Table) or mapper is None:
            raise TypeError(f"{model.__name__} is not a SQLModel table model (table=True)")
        self.model = model
        self.engine = engine
        self.table: Table = table
        self.schema = ModelSchema(model, options or StorageOptions())
        missing = [name for name in model.model_fields if name not in table.c]
        if missing:
            raise TypeError(f"{model.__name__} fields without a column of the same name: {missing}")
        self._sa = sa
        self._fields = set(model.model_fields)
        self._serializer = model.__pydantic_serializer__
        self._validator = model.__pydantic_validator__
        self._new_instance = mapper.class_manager.new_instance
        id_column, version_column = table.c["id"], table.c["version"]
        self._select_by_id = sa.select(table).where(id_column == sa.bindparam("pk"))
        self._select_version = sa.select(version_column).where(id_column == sa.bindparam("pk"))
        self._insert = sa.insert(table)
        self._update = sa.update(table).where(
            id_column == sa.bindparam("pk"), version_column == sa.bindparam("expected")
        )
        self._delete = sa.delete(table).where(id_column == sa.bindparam("pk"))
        self._delete_versioned = self._delete.where(version_column == sa.bindparam("expected"))

    def __repr__(self) -> str:
        return f"SqlDataStorage({self.model.__name__}, {self.engine.url.render_as_string()!r})"

    async def ping(self) -> None:
        """``SELECT 1`` on this storage's engine: the readiness check."""
        await ping_sql(self.engine)

    async def create_schema(self) -> None:
        """Create the model's table if it does not exist (development and tests).

        Production schemas are migrated with Alembic (see docs/storage.md).
        """
        async with self.engine.begin() as connection:
            await connection.run_sync(lambda sync: self.table.create(sync, checkfirst=True))

    async def drop_schema(self) -> None:
        """Drop the model's table if it exists (development and tests)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(lambda sync: self.table.drop(sync, checkfirst=True))

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        """Raise the `DomainError` a caller may see for a database error; others pass as is."""
        try:
            yield
        except self._sa.exc.DBAPIError as error:
            translated = _translate(error)
            if translated is error:
                raise
            raise translated from error
        except (OverflowError, UnicodeEncodeError) as error:
            # Raised by the driver while binding, before the statement runs: an integer
            # beyond 64 bits on SQLite, a lone surrogate in a string on either database.
            raise ValidationFailedError(
                "invalid_value", "a value cannot be stored in the database"
            ) from error

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        """The unit of work's connection when one is open on this engine, else a new one.

        Outside a unit of work a read runs in the connection's implicit transaction, rolled
        back when it returns to the pool.
        """
        uow = _active.get()
        with self._translated_errors():
            if uow is not None and uow.engine is self.engine:
                async with uow.lock:
                    yield uow.connection
            else:
                async with self.engine.connect() as connection:
                    yield connection

    async def _write(self, work: Callable[[Connection], T], *, savepoint: bool = False) -> T:
        """Run `work` in the unit of work open on this engine, else in a transaction of its own.

        `work` is synchronous and gets the connection's synchronous side, so a write and its
        commit take one hop into SQLAlchemy's greenlet rather than one per call (ADR 0073).

        Args:
            work: The statements of one write.
            savepoint: Run `work` in a SAVEPOINT inside a unit of work on PostgreSQL, where
                a failed statement aborts the whole transaction; SQLite only undoes the
                statement.
        """
        uow = _active.get()
        with self._translated_errors():
            if uow is not None and uow.engine is self.engine:
                async with uow.lock:
                    if savepoint and uow.connection.dialect.name != "sqlite":
                        return await uow.connection.run_sync(_in_savepoint, work)
                    return await uow.connection.run_sync(work)
            async with self.engine.connect() as connection:
                return await connection.run_sync(_in_transaction, work)

    def _dump(self, record: ModelT) -> dict[str, Any]:
        """The record's field values, as ``record.model_dump(include=fields)`` gives them."""
        # No serializer warning for a value of the wrong type: `checked_record` refuses the
        # record with a typed error before it is written.
        values: dict[str, Any] = self._serializer.to_python(
            record, include=self._fields, warnings=False
        )
        return values

    def _load(self, values: Mapping[Any, Any]) -> ModelT:
        """The model validated from `values`, made the way SQLAlchemy's ORM makes a loaded row.

        ``model_validate`` on a table model runs the same validator, then sets every field
        again through SQLAlchemy's attribute events: seven times the cost, to record change
        history that a record handed back by a storage never uses (ADR 0073).

        Raises:
            pydantic.ValidationError: A value does not fit the model.
        """
        instance: ModelT = self._new_instance()
        orm_state = instance.__dict__.copy()  # `_sa_instance_state`, set by the mapper
        self._validator.validate_python(values, self_instance=instance)  # replaces __dict__
        instance.__dict__.update(orm_state)
        return instance

    async def get(self, record_id: Any) -> ModelT | None:
        """The record with id `record_id`, or ``None``."""
        pk = self.schema.validate_id(record_id)
        async with self._reading() as connection:
            row = (await connection.execute(self._select_by_id, {"pk": pk})).first()
        return None if row is None else self._load(row._mapping)

    async def add(self, record: ModelT) -> ModelT:
        """Insert a new record with version 1."""
        values = self._dump(record)
        values["version"] = 1
        stored = checked_record(self._load, values)

        def insert(connection: Connection) -> None:
            connection.execute(self._insert, values)

        # The savepoint keeps a unit of work usable after a duplicate id (a ConflictError).
        await self._write(insert, savepoint=True)
        return stored

    async def update(self, record: ModelT) -> ModelT:
        """Update the record if ``record.version`` is the stored version."""
        values = self._dump(record)
        pk, expected = values.pop("id"), values["version"]
        values["version"] = expected + 1
        stored = checked_record(self._load, {**values, "id": pk})
        statement = self._update.values(**values)

        def update_row(connection: Connection) -> None:
            result = connection.execute(statement, {"pk": pk, "expected": expected})
            if result.rowcount != 1:
                self._raise_missing_or_stale(connection, pk, expected)

        await self._write(update_row)
        return stored

    def _raise_missing_or_stale(
        self, connection: Connection, pk: Any, expected: int | None
    ) -> None:
        stored = connection.execute(self._select_version, {"pk": pk}).first()
        if stored is None:
            raise NotFoundError("record_not_found", "no record has this id", {"id": str(pk)})
        raise ConflictError(
            "version_conflict",
            "the record was changed by someone else; reload it and retry",
            {"id": str(pk), "expected_version": expected},
        )

    async def delete(self, record_id: Any, *, version: int | None = None) -> None:
        """Delete the record (only at `version`, when given)."""
        pk = self.schema.validate_id(record_id)
        version = self.schema.validate_version(version)
        if version is None:
            statement, parameters = self._delete, {"pk": pk}
        else:
            statement, parameters = self._delete_versioned, {"pk": pk, "expected": version}

        def delete_row(connection: Connection) -> None:
            if connection.execute(statement, parameters).rowcount != 1:
                self._raise_missing_or_stale(connection, pk, version)

        await self._write(delete_row)

    def _condition(self, item: Filter) -> ColumnElement[bool]:
        column = self.table.c[item.field]
        if item.op == "eq":
            return column.is_(None) if item.value is None else column == item.value
        if item.op == "ne":
            # IS DISTINCT FROM: a NULL column differs from a value, as in Python.
            return (
                column.is_not(None) if item.value is None else column.is_distinct_from(item.value)
            )
        if item.op == "in":
            return column.in_(item.value)
        operator = {
            "lt": column.__lt__,
            "le": column.__le__,
            "gt": column.__gt__,
            "ge": column.__ge__,
        }[item.op]
        condition: ColumnElement[bool] = operator(item.value)
        return condition

    def _keyset(self, order: tuple[OrderKey, ...], after: tuple[Any, ...]) -> ColumnElement[bool]:
        sa = self._sa
        alternatives = []
        for index, key in enumerate(order):
            column = self.table.c[key.field]
            ties = [self.table.c[k.field] == v for k, v in zip(order[:index], after, strict=False)]
            beyond = column < after[index] if key.descending else column > after[index]
            alternatives.append(sa.and_(*ties, beyond))
        condition: ColumnElement[bool] = sa.or_(*alternatives)
        return condition

    async def list(
        self,
        filters: Filters = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ModelT]:
        """One page of matching records (keyset pagination)."""
        query = self.schema.list_query(filters, order_by, limit, cursor)
        conditions = [self._condition(item) for item in query.filters]
        if query.after is not None:
            conditions.append(self._keyset(query.order, query.after))
        ordering = [
            self.table.c[k.field].desc() if k.descending else self.table.c[k.field].asc()
            for k in query.order
        ]
        statement = self._sa.select(self.table).where(*conditions).order_by(*ordering)
        async with self._reading() as connection:
            rows = (await connection.execute(statement.limit(query.limit + 1))).all()
        items = [self._load(row._mapping) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        next_cursor = self.schema.encode_cursor(query.order, items[-1]) if more else None
        return Page(items, next_cursor)

    async def count(self, filters: Filters = ()) -> int:
        """How many records match."""
        conditions = [self._condition(item) for item in self.schema.filters(filters)]
        sa = self._sa
        statement = sa.select(sa.func.count()).select_from(self.table).where(*conditions)
        async with self._reading() as connection:
            return int((await connection.execute(statement)).scalar_one())

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """Open (or join) a transaction shared by every storage on this engine.

        Raises:
            TransientError: The database is not reachable.
        """
        current = _active.get()
        if current is not None and current.engine is self.engine:
            async with self._savepoint(current):
                yield current  # joined: the outermost unit of work commits
            return
        async with self._begin() as connection:
            uow = SqlUnitOfWork(self.engine, connection)
            token = _active.set(uow)
            try:
                yield uow
            finally:
                _active.reset(token)
        await uow._run_after_commit()

    @asynccontextmanager
    async def _savepoint(self, uow: SqlUnitOfWork) -> AsyncIterator[None]:
        """A nested unit of work: a SAVEPOINT, rolled back alone if the block raises."""
        mark = uow._callbacks_mark()
        async with uow.lock:
            await _begin_sqlite_transaction(uow.connection)
            savepoint = await uow.connection.begin_nested()
        try:
            yield
        except BaseException:
            async with uow.lock:
                if savepoint.is_active:
                    await asyncio.shield(savepoint.rollback())
            uow._drop_callbacks_after(mark)
            raise
        async with uow.lock:
            await savepoint.commit()

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.begin() as connection:
                yield connection
        except self._sa.exc.DBAPIError as error:
            translated = _translate(error)
            if translated is error:
                raise
            raise translated from error

"""The async database engine, schema creation/migration and health check."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import stat
import time
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, MetaData, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, Pool

from bot.storage import schema
from bot.storage.urls import to_async_database_url

__all__ = ["Database", "DatabaseUnavailableError", "SchemaVersionError"]

logger = logging.getLogger(__name__)

# Execution option that makes a SQLite transaction take the write lock at BEGIN. A deferred
# transaction that reads and then writes can fail at once with SQLITE_BUSY when another
# connection wrote in between; BEGIN IMMEDIATE waits for the busy timeout instead.
_SQLITE_WRITE_OPTION = "pmp_bot_sqlite_write"
_SQLITE_BUSY_TIMEOUT_MS = 30_000
# How long closing waits for work still holding a connection (see Database.dispose).
_DISPOSE_WAIT_SECONDS = 2.0

# Any constant works; it only has to be the same for every pmp-bot process.
_SCHEMA_LOCK_ID = 0x706D70626F74  # "pmpbot"
# First key of named advisory locks (see Database.exclusive); an int4, "pmpb".
_NAMED_LOCK_SPACE = 0x706D7062

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

# Steps that bring a database from version N-1 to N. Version 1 is the initial schema that
# create_all builds; a later change adds e.g. {2: ["ALTER TABLE ... ADD COLUMN ..."]}.
_MIGRATIONS: Mapping[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE pmp_bot_workspaces ADD COLUMN last_pmp_failure_at TIMESTAMP WITH TIME ZONE",
        "ALTER TABLE pmp_bot_workspaces ADD COLUMN last_pmp_failure VARCHAR(200)",
    ),
    3: (
        "ALTER TABLE pmp_bot_workspaces "
        "ADD COLUMN allow_first_record_file_loss BOOLEAN NOT NULL DEFAULT FALSE",
    ),
    4: (
        "ALTER TABLE pmp_bot_workspaces "
        "ADD COLUMN unfurl_mode VARCHAR(16) NOT NULL DEFAULT 'internal'",
        "ALTER TABLE pmp_bot_workspaces "
        "ADD COLUMN unfurl_in_slack_connect BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE pmp_bot_workspaces "
        "ADD COLUMN members_may_subscribe BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE pmp_bot_workspaces "
        "ADD COLUMN poll_interval_seconds INTEGER NOT NULL DEFAULT 60",
    ),
}


class SchemaVersionError(RuntimeError):
    """The database was written by a newer pmp-bot than this one."""


class DatabaseUnavailableError(RuntimeError):
    """The database can't be opened or reached; ``str(error)`` is one line saying which
    database (password masked) and why, fit to print at start-up."""


def _why_unavailable(error: BaseException) -> str:
    """The reason in a database error, in words and on one line."""
    cause: BaseException = getattr(error, "orig", None) or error  # SQLAlchemy wraps the driver's
    if isinstance(cause, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(cause, socket.gaierror):
        return "its host name can't be found"
    if isinstance(cause, TimeoutError):
        return "it didn't answer in time"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror[0].lower() + cause.strerror[1:]
    lines = str(cause).strip().splitlines()
    # asyncpg's errors come as "<class 'asyncpg.exceptions.X'>: what happened".
    text = lines[0].split(">: ", 1)[-1] if lines else type(cause).__name__
    return text[:200]


def keep_sqlite_private(database: Path) -> None:
    """Create the SQLite file readable and writable by pmp-bot's user only (0600), and tighten
    an existing one and its -wal/-shm files (SQLite gives those the database's mode). It holds
    encrypted tokens, workspace settings and who looked up what. OSError when the file can't
    be opened at all."""
    os.close(os.open(database, os.O_CREAT | os.O_RDWR, 0o600))
    for path in (
        database,
        database.with_name(database.name + "-wal"),
        database.with_name(database.name + "-shm"),
    ):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                path.chmod(mode & 0o700)
                logger.info("Restricted %s to mode %o (it was %o)", path, mode & 0o700, mode)
        except FileNotFoundError:
            continue
        except OSError as error:
            logger.warning("Can't restrict the mode of %s: %s", path, error.strerror or error)


class Database:
    """One async engine shared by every store; same code for SQLite and PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def connect(cls, url: str, *, schema: str | None = None, echo: bool = False) -> Database:
        """Create the engine; connections open on first use.

        ``url`` may be in any form `to_async_database_url` accepts; a SQLite file's directory
        is created when missing. ``schema`` (PostgreSQL only) puts every table, slack-sdk's
        included, in that existing schema via ``search_path``.
        """
        async_url = make_url(to_async_database_url(url))
        if async_url.get_backend_name() == "sqlite":
            if schema is not None:
                raise ValueError("SQLite has no schemas; use a separate database file instead")
            if async_url.database and async_url.database != ":memory:":
                folder = Path(async_url.database).parent
                try:
                    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                except OSError as error:
                    raise DatabaseUnavailableError(
                        f"Can't create the folder {folder} of the SQLite database: "
                        f"{_why_unavailable(error)}."
                    ) from error
                try:
                    keep_sqlite_private(Path(async_url.database))
                except OSError as error:
                    # Said here, before SQLite's driver starts a thread that would only fail.
                    shown = async_url.render_as_string(hide_password=True)
                    raise DatabaseUnavailableError(
                        f"Can't open the database {shown}: unable to open database file "
                        f"({_why_unavailable(error)})."
                    ) from error
            return cls(_sqlite_engine(async_url.render_as_string(hide_password=False), echo))
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise ValueError("schema must be a plain SQL identifier (letters, digits, _)")
        return cls(_postgres_engine(async_url.render_as_string(hide_password=False), schema, echo))

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def write_engine(self) -> AsyncEngine:
        """The engine for code that opens its own transactions to read and then write (slack-sdk's
        stores): on SQLite they take the write lock at BEGIN, as ``write()`` does."""
        if self.dialect_name != "sqlite":
            return self._engine
        return self._engine.execution_options(**{_SQLITE_WRITE_OPTION: True})

    @property
    def dialect_name(self) -> str:
        return self._engine.dialect.name

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction meant for reading (rolled back at the end)."""
        async with self._engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction committed at the end (rolled back on error)."""
        async with self._engine.connect() as conn:
            if self.dialect_name == "sqlite":
                await conn.execution_options(**{_SQLITE_WRITE_OPTION: True})
            async with conn.begin():
                yield conn

    async def create_schema(self) -> None:
        """Create missing tables and bring older databases up to the current schema version.

        Safe to run from several processes at once: PostgreSQL serialises it with an advisory
        lock, SQLite with its write lock. The first use of the database at start-up, so a
        database that can't be reached raises DatabaseUnavailableError with the reason.
        """
        try:
            await self._create_schema()
        except (SQLAlchemyError, OSError) as error:
            shown = self._engine.url.render_as_string(hide_password=True)
            raise DatabaseUnavailableError(
                f"Can't open the database {shown}: {_why_unavailable(error)}."
            ) from error

    async def _create_schema(self) -> None:
        async with self.write() as conn:
            await self._lock_schema(conn)
            await conn.run_sync(schema.metadata.create_all)
            current = (
                await conn.execute(
                    select(schema.schema_version.c.version).where(schema.schema_version.c.id == 1)
                )
            ).scalar_one_or_none()
            if current is None:
                # A fresh database: create_all just built the latest schema.
                await conn.execute(
                    schema.schema_version.insert().values(id=1, version=schema.SCHEMA_VERSION)
                )
                return
            if current > schema.SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"The database has schema version {current}, newer than this pmp-bot "
                    f"understands ({schema.SCHEMA_VERSION}); upgrade pmp-bot."
                )
            for version in range(current + 1, schema.SCHEMA_VERSION + 1):
                logger.info("Migrating the database schema to version %d", version)
                for statement in _MIGRATIONS.get(version, ()):
                    await conn.execute(text(statement))
            if current != schema.SCHEMA_VERSION:
                await conn.execute(
                    schema.schema_version.update()
                    .where(schema.schema_version.c.id == 1)
                    .values(version=schema.SCHEMA_VERSION, updated_at=schema.utc_now())
                )

    async def create_tables(self, *metadatas: MetaData) -> None:
        """Create missing tables of other libraries (slack-sdk), as safely as create_schema."""
        async with self.write() as conn:
            await self._lock_schema(conn)
            for metadata in metadatas:
                await conn.run_sync(metadata.create_all)

    async def _lock_schema(self, conn: AsyncConnection) -> None:
        # Instances starting together would otherwise race to CREATE the same tables.
        if self.dialect_name == "postgresql":
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": _SCHEMA_LOCK_ID}
            )

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Runs the block while no other pmp-bot process on this PostgreSQL database runs a
        block of the same `name` (a transaction-level advisory lock, released even if this
        process dies). SQLite is single-host: callers also serialise within the process."""
        if self.dialect_name != "postgresql":
            yield
            return
        key = zlib.crc32(name.encode("utf-8"))
        async with self._engine.begin() as conn:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:space, :key)"),
                # Two int4 halves: pmp-bot's space, then the name's CRC as a signed int4.
                {"space": _NAMED_LOCK_SPACE, "key": key - 2**32 if key >= 2**31 else key},
            )
            yield

    async def schema_version(self) -> int | None:
        """The schema version recorded in the database, None before create_schema()."""
        try:
            async with self.read() as conn:
                return (
                    await conn.execute(select(schema.schema_version.c.version))
                ).scalar_one_or_none()
        except SQLAlchemyError:
            return None

    async def ping(self) -> bool:
        """True when a query round-trips; never raises (for /healthz)."""
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # a health check reports any failure instead of raising it
            logger.warning("Database ping failed", exc_info=True)
            return False
        return True

    async def dispose(self) -> None:
        """Closes the pooled connections. Work still holding one (a commit finishing as the
        process stops) gets a moment to give it back first: a connection the pool no longer
        knows is never closed, only dropped."""
        pool = self._engine.pool
        deadline = time.monotonic() + _DISPOSE_WAIT_SECONDS
        while _checked_out(pool) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if _checked_out(pool):
            logger.info(
                "Closing the database with %d connection(s) still in use", _checked_out(pool)
            )
        await self._engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.dispose()

    def __repr__(self) -> str:
        return f"Database({self._engine.url.render_as_string(hide_password=True)!r})"


def _checked_out(pool: Pool) -> int:
    counter = getattr(pool, "checkedout", None)
    return int(counter()) if callable(counter) else 0


def _sqlite_engine(url: str, echo: bool) -> AsyncEngine:
    engine = create_async_engine(
        url,
        echo=echo,
        # sqlite3's own busy timeout, in seconds; the PRAGMA below covers the same ground.
        connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    sync_engine = engine.sync_engine
    on_connect: Callable[[Any, ConnectionPoolEntry], None] = _configure_sqlite_connection
    on_begin: Callable[[Connection], None] = _begin_sqlite_transaction
    event.listen(sync_engine, "connect", on_connect)
    event.listen(sync_engine, "begin", on_begin)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _begin_sqlite_transaction) instead of the sqlite3
    # module's implicit one, which only starts transactions before writes.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers work while one process writes; ignored for in-memory databases.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(conn: Connection) -> None:
    if conn.get_execution_options().get(_SQLITE_WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def _postgres_engine(url: str, schema_name: str | None, echo: bool) -> AsyncEngine:
    connect_args: dict[str, Any] = {"timeout": 10}
    if schema_name is not None:
        connect_args["server_settings"] = {"search_path": schema_name}
    return create_async_engine(
        url,
        echo=echo,
        # A connection that died with a restarted server is replaced instead of failing a request.
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=10,
        # Below the idle timeouts of common proxies and managed PostgreSQL offerings.
        pool_recycle=1800,
        connect_args=connect_args,
    )

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from bot.config import load_settings
from bot.crypto import TokenCipher
from bot.run.common import check_data_dir
from bot.storage import Database, SchemaVersionError, WorkspaceStore, database, schema
from tests.storage.conftest import DatabaseTarget


async def _table_names(db: Database) -> set[str]:
    async with db.read() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_create_schema_builds_tables_and_records_the_version(db: Database) -> None:
    assert {
        "pmp_bot_schema_version",
        "pmp_bot_workspaces",
        "pmp_bot_idempotency_keys",
        "pmp_bot_recent_lookups",
    } <= await _table_names(db)
    assert await db.schema_version() == schema.SCHEMA_VERSION


async def test_create_schema_twice_and_from_a_second_process(
    db: Database, target: DatabaseTarget
) -> None:
    await db.create_schema()
    other = await target.connect()
    try:
        await other.create_schema()
        assert await other.schema_version() == schema.SCHEMA_VERSION
    finally:
        await other.dispose()
    async with db.read() as conn:
        rows = (await conn.execute(select(schema.schema_version))).all()
    assert len(rows) == 1


async def test_schema_version_is_none_before_create_schema(target: DatabaseTarget) -> None:
    fresh = await target.connect()
    try:
        assert await fresh.schema_version() is None
    finally:
        await fresh.dispose()


async def test_older_database_is_migrated(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    monkeypatch.setattr(
        database,
        "_MIGRATIONS",
        {schema.SCHEMA_VERSION: ("ALTER TABLE pmp_bot_workspaces ADD COLUMN added_later TEXT",)},
    )
    await db.create_schema()
    assert await db.schema_version() == schema.SCHEMA_VERSION
    async with db.read() as conn:
        columns = await conn.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("pmp_bot_workspaces")}
        )
    assert "added_later" in columns
    # Running again must not repeat the ALTER (it would fail: the column exists).
    await db.create_schema()


async def test_newer_database_is_refused(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(schema.schema_version.update().values(version=schema.SCHEMA_VERSION + 5))
    with pytest.raises(SchemaVersionError, match="upgrade pmp-bot"):
        await db.create_schema()


async def test_ping(db: Database) -> None:
    assert await db.ping() is True


async def test_ping_reports_an_unreachable_server_without_raising() -> None:
    # Port 9 (discard) is closed on the test machine: the connection is refused at once.
    unreachable = await Database.connect("postgresql://nobody@127.0.0.1:9/none")
    try:
        assert await unreachable.ping() is False
    finally:
        await unreachable.dispose()


async def test_sqlite_uses_wal_and_creates_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "bot.sqlite3"
    db = await Database.connect(f"sqlite:///{path}")
    try:
        await db.create_schema()
        async with db.read() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert mode == "wal"
        assert busy >= 1000
    finally:
        await db.dispose()
    assert path.exists()
    assert os.stat(path.parent).st_mode & 0o777 == 0o700


async def test_sqlite_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.sqlite3"
    db = await Database.connect(f"sqlite:///{fresh}")
    try:
        await db.create_schema()
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE t (x)"))
    finally:
        await db.dispose()
    assert os.stat(fresh).st_mode & 0o777 == 0o600

    # A database left world-readable (and its WAL) by an older pmp-bot or a copy is tightened.
    old = tmp_path / "old.sqlite3"
    for path in (old, tmp_path / "old.sqlite3-wal"):
        path.write_bytes(b"")
        path.chmod(0o644)
    db = await Database.connect(f"sqlite:///{old}")
    try:
        assert os.stat(old).st_mode & 0o777 == 0o600
        # (checked before closing: SQLite removes the WAL file on a clean close)
        assert os.stat(tmp_path / "old.sqlite3-wal").st_mode & 0o777 == 0o600
        await db.create_schema()
    finally:
        await db.dispose()


def test_an_existing_loose_data_dir_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    check_data_dir(load_settings(env_file=None, pmp_bot_data_dir=str(folder)))
    assert os.stat(folder).st_mode & 0o777 == 0o700


async def test_in_memory_sqlite_keeps_data_between_calls() -> None:
    db = await Database.connect("sqlite://")
    try:
        await db.create_schema()
        assert await db.schema_version() == schema.SCHEMA_VERSION
    finally:
        await db.dispose()


async def test_schema_option_is_postgresql_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SQLite has no schemas"):
        await Database.connect(f"sqlite:///{tmp_path}/x.db", schema="other")
    with pytest.raises(ValueError, match="plain SQL identifier"):
        await Database.connect("postgresql://u@127.0.0.1/x", schema="bad; DROP")


async def test_repr_hides_the_password() -> None:
    db = await Database.connect("postgresql://bot:hunter2@127.0.0.1/pmp")
    try:
        assert "hunter2" not in repr(db)
    finally:
        await db.dispose()


async def test_postgresql_connection_killed_by_a_server_restart_is_replaced(
    db: Database, target: DatabaseTarget
) -> None:
    if target.backend != "postgresql":
        pytest.skip("server restarts only concern PostgreSQL")
    async with db.read() as conn:
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    # Terminate the pooled connection from outside, as a server restart would.
    killer = await target.connect()
    try:
        async with killer.read() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await killer.dispose()
    assert await db.ping() is True
    async with db.read() as conn:
        new_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    assert new_pid != pid


async def test_a_version_1_database_gains_the_last_failure_columns(db: Database) -> None:
    async with db.write() as conn:
        for column in (
            "last_pmp_failure_at",
            "last_pmp_failure",
            "allow_first_record_file_loss",
            *_VERSION_4_COLUMNS,
        ):
            await conn.execute(text(f"ALTER TABLE pmp_bot_workspaces DROP COLUMN {column}"))
        await conn.execute(schema.schema_version.update().values(version=1))

    await db.create_schema()

    assert await db.schema_version() == schema.SCHEMA_VERSION
    async with db.read() as conn:
        columns = await conn.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("pmp_bot_workspaces")}
        )
    assert {"last_pmp_failure_at", "last_pmp_failure"} <= columns


async def test_a_version_2_database_gains_the_file_loss_choice_switched_off(
    db: Database, cipher: TokenCipher
) -> None:
    store = WorkspaceStore(db, cipher)
    await store.save_credentials("TA", None, "https://crm.example", "pmp-token", "UADMIN")
    async with db.write() as conn:
        for column in ("allow_first_record_file_loss", *_VERSION_4_COLUMNS):
            await conn.execute(text(f"ALTER TABLE pmp_bot_workspaces DROP COLUMN {column}"))
        await conn.execute(schema.schema_version.update().values(version=2))

    await db.create_schema()

    assert await db.schema_version() == schema.SCHEMA_VERSION
    reopened = WorkspaceStore(db, cipher)
    workspace = await reopened.get("TA")
    assert workspace is not None and workspace.pmp_base_url == "https://crm.example"
    assert workspace.allow_first_record_file_loss is False
    await reopened.set_allow_first_record_file_loss("TA", None, True)
    assert (await reopened.get("TA")).allow_first_record_file_loss is True  # type: ignore[union-attr]
    # A workspace added after the migration gets the column's default.
    await reopened.set_notify_channel("TB", None, "C1")
    assert (await reopened.get("TB")).allow_first_record_file_loss is False  # type: ignore[union-attr]


_VERSION_4_COLUMNS = (
    "unfurl_mode",
    "unfurl_in_slack_connect",
    "members_may_subscribe",
    "poll_interval_seconds",
)


async def test_a_version_3_database_gains_the_workspace_options_at_their_defaults(
    db: Database, cipher: TokenCipher
) -> None:
    store = WorkspaceStore(db, cipher)
    await store.save_credentials("TA", None, "https://crm.example", "pmp-token", "UADMIN")
    async with db.write() as conn:
        for column in _VERSION_4_COLUMNS:
            await conn.execute(text(f"ALTER TABLE pmp_bot_workspaces DROP COLUMN {column}"))
        await conn.execute(schema.schema_version.update().values(version=3))

    await db.create_schema()

    assert await db.schema_version() == schema.SCHEMA_VERSION
    workspace = await WorkspaceStore(db, cipher).get("TA")
    assert workspace is not None and workspace.pmp_base_url == "https://crm.example"
    assert workspace.unfurl_mode == "internal"
    assert workspace.unfurl_in_slack_connect is False
    assert workspace.members_may_subscribe is False
    assert workspace.poll_interval_seconds == 60


async def test_closing_lets_work_holding_a_connection_finish_first(db: Database) -> None:
    # A commit still under way when the process stops (a delivery recorded, a read shared
    # by a burst) keeps its connection until it is done: closing waits for it, so the
    # connection is closed by the pool, not dropped unclosed.
    holding = asyncio.Event()
    finished: list[int] = []

    async def work() -> None:
        async with db.read() as conn:
            holding.set()
            await asyncio.sleep(0.2)
            finished.append((await conn.execute(text("SELECT 1"))).scalar_one())

    task = asyncio.ensure_future(work())
    await holding.wait()
    await db.dispose()
    assert task.done() and finished == [1]
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]

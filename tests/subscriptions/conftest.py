"""Fixtures for subscription tests: a database on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL runs need TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test); each
test gets its own schema, dropped afterwards. Without it those runs are skipped with a reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage import Database, to_async_database_url

BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class DatabaseTarget:
    """Where a test's database lives; `connect()` opens another engine on the same data."""

    backend: str
    url: str
    schema: str | None

    async def connect(self) -> Database:
        return await Database.connect(self.url, schema=self.schema)


async def _postgres_target() -> AsyncIterator[DatabaseTarget]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (postgresql://user@host/db)")
    schema = f"pmp_bot_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(to_async_database_url(url))
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield DatabaseTarget("postgresql", url, schema)
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture(params=BACKENDS)
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DatabaseTarget]:
    if request.param == "sqlite":
        path = tmp_path / "db" / "pmp-bot.sqlite3"
        yield DatabaseTarget("sqlite", f"sqlite:///{path}", None)
        return
    async for found in _postgres_target():
        yield found


@pytest.fixture
async def pg_target() -> AsyncIterator[DatabaseTarget]:
    async for found in _postgres_target():
        yield found


@pytest.fixture
async def db(target: DatabaseTarget) -> AsyncIterator[Database]:
    database = await target.connect()
    try:
        await database.create_schema()
        yield database
    finally:
        await database.dispose()

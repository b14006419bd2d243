"""Fixtures: an idempotency store on a SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Database, IdempotencyStore


@pytest.fixture
async def idempotency(tmp_path: Path) -> AsyncIterator[IdempotencyStore]:
    database = await Database.connect(f"sqlite:///{tmp_path / 'forms.sqlite3'}")
    try:
        await database.create_schema()
        yield IdempotencyStore(database)
    finally:
        await database.dispose()

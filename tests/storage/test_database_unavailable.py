"""A database pmp-bot can't open or reach is one line: which database (password masked) and
why, for start-up to print."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.storage.database import Database, DatabaseUnavailableError


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_postgresql_server_that_refuses_is_named_without_its_password() -> None:
    port = closed_port()
    database = await Database.connect(f"postgresql://bot:pa55word@127.0.0.1:{port}/pmpbot")
    try:
        with pytest.raises(DatabaseUnavailableError) as caught:
            await database.create_schema()
    finally:
        await database.dispose()
    message = str(caught.value)
    assert message == (
        f"Can't open the database postgresql+asyncpg://bot:***@127.0.0.1:{port}/pmpbot: "
        "the connection was refused."
    )


async def test_a_sqlite_file_whose_folder_cant_be_made_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(DatabaseUnavailableError) as caught:
        await Database.connect(f"sqlite:///{blocker / 'bot.sqlite3'}")
    assert str(caught.value).startswith(f"Can't create the folder {blocker} of the SQLite")
    assert "\n" not in str(caught.value)


async def test_a_sqlite_file_that_cant_be_opened_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "db.sqlite3"
    folder.mkdir()  # a directory where the database file should be
    with pytest.raises(DatabaseUnavailableError) as caught:
        await Database.connect(f"sqlite:///{folder}")
    assert str(caught.value).startswith(f"Can't open the database sqlite+aiosqlite:///{folder}")
    assert "unable to open database file" in str(caught.value)

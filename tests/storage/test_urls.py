from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bot.storage import DatabaseUrlError, display_database_url, to_async_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///data/pmp.sqlite3", "sqlite+aiosqlite:///data/pmp.sqlite3"),
        ("sqlite:////var/lib/pmp.sqlite3", "sqlite+aiosqlite:////var/lib/pmp.sqlite3"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("sqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgres://bot:pw@db:5432/pmp", "postgresql+asyncpg://bot:pw@db:5432/pmp"),
        ("postgresql://bot:pw@db/pmp", "postgresql+asyncpg://bot:pw@db/pmp"),
        ("postgresql+psycopg2://bot@db/pmp", "postgresql+asyncpg://bot@db/pmp"),
        ("postgresql+asyncpg://bot@db/pmp", "postgresql+asyncpg://bot@db/pmp"),
        ("  postgresql://bot@db/pmp  ", "postgresql+asyncpg://bot@db/pmp"),
    ],
)
def test_async_forms(given: str, expected: str) -> None:
    assert to_async_database_url(given) == expected


def test_libpq_sslmode_becomes_asyncpg_ssl() -> None:
    url = make_url(to_async_database_url("postgresql://bot@db/pmp?sslmode=require"))
    assert dict(url.query) == {"ssl": "require"}


def test_special_characters_in_password_survive() -> None:
    url = make_url(to_async_database_url("postgresql://bot:p%40ss%2Fw@db/pmp"))
    assert url.password == "p@ss/w"


@pytest.mark.parametrize("given", ["mysql://u:pw@h/d", "oracle://h/d"])
def test_other_databases_are_refused(given: str) -> None:
    with pytest.raises(DatabaseUrlError, match="sqlite:/// or postgresql://"):
        to_async_database_url(given)


@pytest.mark.parametrize("given", ["", "not a url", "/just/a/path"])
def test_non_urls_are_refused(given: str) -> None:
    with pytest.raises(DatabaseUrlError, match="is not a database URL"):
        to_async_database_url(given)


def test_display_masks_the_password() -> None:
    shown = display_database_url("postgresql+asyncpg://bot:hunter2@db/pmp")
    assert "hunter2" not in shown
    assert shown == "postgresql+asyncpg://bot:***@db/pmp"

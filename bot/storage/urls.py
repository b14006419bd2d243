"""Turn database URLs as people write them into the async forms SQLAlchemy needs."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["DatabaseUrlError", "display_database_url", "to_async_database_url"]

_SQLITE_DRIVER = "sqlite+aiosqlite"
_POSTGRES_DRIVER = "postgresql+asyncpg"
_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})


class DatabaseUrlError(ValueError):
    """A database URL pmp-bot cannot use. The message never contains a password."""


def _parse(url: str) -> URL:
    try:
        return make_url(url.strip())
    except (ArgumentError, ValueError):
        raise DatabaseUrlError(
            "is not a database URL; use sqlite:///path/to/file.sqlite3 or "
            "postgresql://user:password@host:5432/database"
        ) from None


def to_async_database_url(url: str) -> str:
    """Return the async-driver form of a SQLite or PostgreSQL URL.

    Accepts ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``sqlite://`` (memory),
    ``postgres://`` and ``postgresql://`` (any driver suffix), and the async forms themselves.
    libpq's ``sslmode`` query option becomes asyncpg's ``ssl``, which takes the same values.
    """
    url = url.strip()
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        driver = _SQLITE_DRIVER
    elif backend in _POSTGRES_SCHEMES:
        driver = _POSTGRES_DRIVER
        if "sslmode" in parsed.query:
            query = dict(parsed.query)
            query.setdefault("ssl", query["sslmode"])
            del query["sslmode"]
            return parsed.set(drivername=driver, query=query).render_as_string(hide_password=False)
    else:
        raise DatabaseUrlError(
            f"uses '{parsed.drivername}', which pmp-bot does not support; "
            "use a sqlite:/// or postgresql:// URL"
        )
    # Swap only the scheme: re-rendering would percent-encode paths such as ":memory:".
    return f"{driver}://{url.split('://', 1)[1]}"


def display_database_url(url: str) -> str:
    """The URL with its password masked, fit for logs and error messages."""
    try:
        return make_url(url.strip()).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<not a URL>"

"""Fixtures for the staff tests: the PMP client's scripted fake PMP and the storage tests'
databases (SQLite, and PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

from tests.pmp.conftest import make_client
from tests.storage.conftest import cipher, db, target

__all__ = ["cipher", "db", "make_client", "target"]

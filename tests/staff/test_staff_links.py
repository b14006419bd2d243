"""Stored Slack user -> staff member links: one per user, strictly per workspace, gone with
the workspace (SQLite, and PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from bot.crypto import TokenCipher
from bot.storage import Database, WorkspaceStore
from bot.storage.staff_links import StaffLinkStore, StoredStaffLink

SITE = "https://crm.example.com"


def link(user: str, staff_id: int, name: str = "Maria Garcia", **extra: object) -> StoredStaffLink:
    return StoredStaffLink(
        slack_user_id=user,
        pmp_site=str(extra.get("site", SITE)),
        staff_id=staff_id,
        staff_name=name,
        staff_email="maria@pmp.example",
        source="admin" if extra.get("admin") else "email",
        set_by="UADMIN" if extra.get("admin") else None,
    )


async def connected(db: Database, cipher: TokenCipher, team: str, enterprise: str | None = None):
    await WorkspaceStore(db, cipher).save_credentials(team, enterprise, SITE, "tok", "UADMIN")


async def test_put_get_replace_remove(db: Database, cipher: TokenCipher) -> None:
    await connected(db, cipher, "T1")
    store = StaffLinkStore(db)
    assert await store.get("T1", None, "U1") is None
    await store.put("T1", None, link("U1", 2))
    got = await store.get("T1", None, "U1")
    assert got is not None and (got.staff_id, got.source, got.set_by) == (2, "email", None)
    assert got.updated_at is not None and got.updated_at.tzinfo is not None
    await store.put("T1", None, link("U1", 3, "Tom Becker", admin=True))
    got = await store.get("T1", None, "U1")
    assert got is not None and (got.staff_id, got.staff_name) == (3, "Tom Becker")
    assert (got.source, got.set_by) == ("admin", "UADMIN")
    assert await store.remove("T1", None, "U1") is True
    assert await store.remove("T1", None, "U1") is False
    assert await store.get("T1", None, "U1") is None


async def test_workspaces_are_kept_apart(db: Database, cipher: TokenCipher) -> None:
    await connected(db, cipher, "T1")
    await connected(db, cipher, "T2")
    await connected(db, cipher, "T1", "E1")  # the same team id inside an organisation
    store = StaffLinkStore(db)
    await store.put("T1", None, link("U1", 2))
    await store.put("T2", None, link("U1", 4, "Aiko Tanaka"))
    assert (await store.get("T2", None, "U1")).staff_id == 4  # type: ignore[union-attr]
    assert await store.get("T1", "E1", "U1") is None
    assert [row.staff_id for row in await store.all("T1", None)] == [2]
    await store.remove("T2", None, "U1")
    assert await store.get("T1", None, "U1") is not None
    assert await store.forget_workspace("T1", None) == 1
    assert await store.all("T1", None) == []


async def test_list_by_site_and_name(db: Database, cipher: TokenCipher) -> None:
    await connected(db, cipher, "T1")
    store = StaffLinkStore(db)
    await store.put("T1", None, link("U2", 3, "Tom Becker"))
    await store.put("T1", None, link("U1", 2, "Maria Garcia"))
    await store.put("T1", None, link("U3", 9, "Old PMP", site="https://old.example.com"))
    assert [row.slack_user_id for row in await store.all("T1", None, pmp_site=SITE)] == [
        "U1",
        "U2",
    ]
    assert len(await store.all("T1", None)) == 3


async def test_links_go_with_their_workspace(db: Database, cipher: TokenCipher) -> None:
    await connected(db, cipher, "T1")
    await connected(db, cipher, "T2")
    store = StaffLinkStore(db)
    await store.put("T1", None, link("U1", 2))
    await store.put("T2", None, link("U1", 2))
    assert await WorkspaceStore(db, cipher).delete_workspace("T1")
    assert await store.all("T1", None) == []
    assert len(await store.all("T2", None)) == 1


async def test_a_link_needs_a_stored_workspace(db: Database) -> None:
    with pytest.raises(IntegrityError):
        await StaffLinkStore(db).put("TNONE", None, link("U1", 2))


async def test_bad_links_are_refused(db: Database) -> None:
    store = StaffLinkStore(db)
    with pytest.raises(ValueError):
        await store.put("T1", None, link("", 2))
    with pytest.raises(ValueError):
        await store.get("", None, "U1")

"""Which PMP staff member each Slack user is, per workspace.

Table ``pmp_bot_staff_links`` (on `bot.storage.schema.metadata`, created by create_all): one
row per Slack user of a workspace, naming the PMP staff member (id, name and e-mail as PMP had
them), the PMP site the id belongs to, how the link was made ("email": matched by the Slack
e-mail; "admin": set by an admin, `set_by`) and when. Rows belong to their workspace's row
(`pmp_bot_workspaces`) and go with it when the workspace is forgotten (uninstall, revoked
token). Every method takes the workspace's team and enterprise ids and touches only its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    select,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from bot.storage.database import Database
from bot.storage.schema import UtcDateTime, metadata, utc_now

__all__ = ["LINK_SOURCES", "LinkSource", "StaffLinkStore", "StoredStaffLink", "staff_links"]

LinkSource = Literal["email", "admin"]
LINK_SOURCES: tuple[LinkSource, ...] = get_args(LinkSource)

_SLACK_ID = 32
NAME_MAX = 200
EMAIL_MAX = 320
# A workspace lists its links on one Slack message; far more people than that is unusual.
LIST_MAX = 1000

staff_links = Table(
    "pmp_bot_staff_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # "" stands for "no enterprise", as in pmp_bot_workspaces.
    Column("enterprise_id", String(_SLACK_ID), nullable=False, default=""),
    Column("team_id", String(_SLACK_ID), nullable=False, default=""),
    Column("slack_user_id", String(_SLACK_ID), nullable=False),
    # The PMP the staff id belongs to: a workspace connected to another PMP since then
    # doesn't use the link.
    Column("pmp_site", Text, nullable=False),
    Column("staff_id", Integer, nullable=False),
    Column("staff_name", String(NAME_MAX), nullable=False),
    Column("staff_email", String(EMAIL_MAX), nullable=True),
    Column("source", String(8), nullable=False),
    Column("set_by", String(_SLACK_ID), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False, default=utc_now),
    UniqueConstraint(
        "enterprise_id", "team_id", "slack_user_id", name="uq_pmp_bot_staff_links_user"
    ),
    ForeignKeyConstraint(
        ["enterprise_id", "team_id"],
        ["pmp_bot_workspaces.enterprise_id", "pmp_bot_workspaces.team_id"],
        name="fk_pmp_bot_staff_links_workspace",
        ondelete="CASCADE",
    ),
    Index("ix_pmp_bot_staff_links_staff", "enterprise_id", "team_id", "staff_id"),
)


@dataclass(frozen=True, slots=True)
class StoredStaffLink:
    slack_user_id: str
    pmp_site: str
    staff_id: int
    staff_name: str
    staff_email: str | None
    source: LinkSource
    set_by: str | None = None
    updated_at: datetime | None = None


def _team_key(team_id: str | None, enterprise_id: str | None) -> tuple[str, str]:
    team = (team_id or "").strip()
    enterprise = (enterprise_id or "").strip()
    if not team and not enterprise:
        raise ValueError("A workspace needs a team_id or an enterprise_id.")
    return enterprise, team


def _of_workspace(key: tuple[str, str]) -> ColumnElement[bool]:
    enterprise, team = key
    return and_(staff_links.c.enterprise_id == enterprise, staff_links.c.team_id == team)


def _cut(text: str, most: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


class StaffLinkStore:
    """Slack user -> PMP staff member links, strictly one workspace at a time."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"StaffLinkStore({self._db!r})"

    async def get(
        self, team_id: str | None, enterprise_id: str | None, slack_user_id: str
    ) -> StoredStaffLink | None:
        key = _team_key(team_id, enterprise_id)
        query = select(staff_links).where(
            _of_workspace(key), staff_links.c.slack_user_id == slack_user_id
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).mappings().one_or_none()
        return _link(row) if row is not None else None

    async def all(
        self, team_id: str | None, enterprise_id: str | None, *, pmp_site: str | None = None
    ) -> list[StoredStaffLink]:
        """The workspace's links (of one PMP site when given), by staff name."""
        key = _team_key(team_id, enterprise_id)
        query = select(staff_links).where(_of_workspace(key))
        if pmp_site is not None:
            query = query.where(staff_links.c.pmp_site == pmp_site)
        query = query.order_by(staff_links.c.staff_name, staff_links.c.id).limit(LIST_MAX)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_link(row) for row in rows]

    async def put(
        self, team_id: str | None, enterprise_id: str | None, link: StoredStaffLink
    ) -> None:
        """Sets the user's link (replacing any). The workspace must be stored (connected)."""
        key = _team_key(team_id, enterprise_id)
        if not link.slack_user_id or link.staff_id <= 0 or link.source not in LINK_SOURCES:
            raise ValueError("a staff link needs a Slack user, a staff id and a source")
        values = {
            "pmp_site": link.pmp_site,
            "staff_id": link.staff_id,
            "staff_name": _cut(link.staff_name, NAME_MAX),
            "staff_email": link.staff_email[:EMAIL_MAX] if link.staff_email else None,
            "source": link.source,
            "set_by": link.set_by,
            "updated_at": link.updated_at or utc_now(),
        }
        try:
            await self._put(key, link.slack_user_id, values)
        except IntegrityError:
            # Two requests linked the same user at once: the other inserted; update it.
            await self._put(key, link.slack_user_id, values)

    async def _put(self, key: tuple[str, str], user: str, values: dict[str, object]) -> None:
        enterprise, team = key
        async with self._db.write() as conn:
            updated = await conn.execute(
                staff_links.update()
                .where(_of_workspace(key), staff_links.c.slack_user_id == user)
                .values(**values)
            )
            if updated.rowcount == 0:
                await conn.execute(
                    staff_links.insert().values(
                        enterprise_id=enterprise, team_id=team, slack_user_id=user, **values
                    )
                )

    async def remove(
        self, team_id: str | None, enterprise_id: str | None, slack_user_id: str
    ) -> bool:
        """Forgets the user's link; True when there was one."""
        key = _team_key(team_id, enterprise_id)
        async with self._db.write() as conn:
            result = await conn.execute(
                staff_links.delete().where(
                    _of_workspace(key), staff_links.c.slack_user_id == slack_user_id
                )
            )
        return result.rowcount > 0

    async def forget_workspace(self, team_id: str | None, enterprise_id: str | None) -> int:
        """Removes every link of the workspace (the workspace row's removal does too)."""
        key = _team_key(team_id, enterprise_id)
        async with self._db.write() as conn:
            result = await conn.execute(staff_links.delete().where(_of_workspace(key)))
        return int(result.rowcount or 0)


def _link(row: RowMapping) -> StoredStaffLink:
    source: LinkSource = "email" if row["source"] == "email" else "admin"
    return StoredStaffLink(
        slack_user_id=row["slack_user_id"],
        pmp_site=row["pmp_site"],
        staff_id=int(row["staff_id"]),
        staff_name=row["staff_name"],
        staff_email=row["staff_email"],
        source=source,
        set_by=row["set_by"],
        updated_at=row["updated_at"],
    )

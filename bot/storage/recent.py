"""Each user's recently viewed PMP records (shown on App Home)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from bot.storage.database import Database
from bot.storage.schema import recent_lookups, utc_now

__all__ = ["RecentLookup", "RecentLookupsStore"]

DEFAULT_KEEP = 20
_MAX_LABEL_LENGTH = 200


@dataclass(frozen=True, slots=True)
class RecentLookup:
    kind: str
    record_id: int
    label: str
    viewed_at: datetime


class RecentLookupsStore:
    """Keeps the last ``keep`` distinct records per user; viewing one again moves it to the top."""

    def __init__(self, db: Database, *, keep: int = DEFAULT_KEEP) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self._db = db
        self._keep = keep

    def __repr__(self) -> str:
        return f"RecentLookupsStore({self._db!r}, keep={self._keep})"

    async def add(
        self,
        team_id: str,
        user_id: str,
        kind: str,
        record_id: int,
        label: str,
        *,
        now: datetime | None = None,
    ) -> None:
        if not team_id or not user_id or not kind:
            raise ValueError("team_id, user_id and kind are required")
        values = {
            "team_id": team_id,
            "user_id": user_id,
            "kind": kind,
            "record_id": record_id,
            "label": _shorten(label),
            "viewed_at": now or utc_now(),
        }
        try:
            await self._add(values)
        except IntegrityError:
            # The same record was added concurrently; ours now only needs to refresh it.
            await self._add(values)

    async def recent(self, team_id: str, user_id: str, limit: int = 10) -> list[RecentLookup]:
        """Newest first."""
        columns = recent_lookups.c
        query = (
            select(columns.kind, columns.record_id, columns.label, columns.viewed_at)
            .where(columns.team_id == team_id, columns.user_id == user_id)
            .order_by(columns.viewed_at.desc(), columns.id.desc())
            .limit(max(limit, 0))
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            RecentLookup(
                kind=row.kind, record_id=row.record_id, label=row.label, viewed_at=row.viewed_at
            )
            for row in rows
        ]

    async def _add(self, values: dict[str, object]) -> None:
        columns = recent_lookups.c
        same_user = and_(columns.team_id == values["team_id"], columns.user_id == values["user_id"])
        async with self._db.write() as conn:
            updated = await conn.execute(
                recent_lookups.update()
                .where(
                    same_user,
                    columns.kind == values["kind"],
                    columns.record_id == values["record_id"],
                )
                .values(label=values["label"], viewed_at=values["viewed_at"])
            )
            if updated.rowcount == 0:
                await conn.execute(recent_lookups.insert().values(**values))
            keep_ids = (
                select(columns.id)
                .where(same_user)
                .order_by(columns.viewed_at.desc(), columns.id.desc())
                .limit(self._keep)
            )
            await conn.execute(
                recent_lookups.delete().where(
                    same_user, columns.id.not_in(select(keep_ids.subquery().c.id))
                )
            )


def _shorten(label: str) -> str:
    label = " ".join(label.split())
    if len(label) <= _MAX_LABEL_LENGTH:
        return label
    return label[: _MAX_LABEL_LENGTH - 1] + "…"

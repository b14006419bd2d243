"""What pmp-bot last saw of each PMP record a workspace's subscriptions watch.

A record is kept as a *fingerprint*: the few fields that make events (a ticket's status,
priority, assignee and last reply; a lead's or project's status; a milestone's due date and
whether it is overdue), a short label for messages about it, and a revision that goes up by
one with every change seen. Both event sources (polling and webhooks) compare what PMP says
now with the fingerprint, and write the new one only if nobody changed it in between
(``compare_and_set``): so a change is turned into events once, whichever source sees it first.
A record that disappears keeps a tombstone (no values) so that its revision keeps counting.

Per workspace and kind, ``poll_lists`` says whether the first look (the baseline) was taken:
the first look records every record and makes no events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.database import Database
from bot.storage.schema import UtcDateTime, metadata, utc_now

__all__ = [
    "FINGERPRINT_SEPARATOR",
    "Fingerprint",
    "FingerprintStore",
    "FingerprintWrite",
    "fingerprints",
    "poll_lists",
]

_SLACK_ID = 32
_MAX_LABEL = 200
# Between watched values in the stored text: a character PMP's values never hold.
FINGERPRINT_SEPARATOR = "\x1f"

fingerprints = Table(
    "pmp_bot_fingerprints",
    metadata,
    Column("enterprise_id", String(_SLACK_ID), primary_key=True),
    Column("team_id", String(_SLACK_ID), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("record_id", Integer, primary_key=True, autoincrement=False),
    # The watched values joined by FINGERPRINT_SEPARATOR; NULL: the record is gone.
    Column("watched", Text, nullable=True),
    Column("label", String(_MAX_LABEL), nullable=False, default=""),
    # The record's fields subscription filters read (department, customer...) as JSON, so an
    # event about a record that is gone still reaches the channels whose filters it passed.
    Column("context", Text, nullable=True),
    Column("revision", Integer, nullable=False, default=1),
    Column("seen_at", UtcDateTime, nullable=False, default=utc_now),
)

poll_lists = Table(
    "pmp_bot_poll_lists",
    metadata,
    Column("enterprise_id", String(_SLACK_ID), primary_key=True),
    Column("team_id", String(_SLACK_ID), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("baseline_at", UtcDateTime, nullable=False, default=utc_now),
    Column("read_at", UtcDateTime, nullable=False, default=utc_now),
)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A record as last seen: ``watched`` is None for a record that is gone."""

    record_id: int
    watched: tuple[str, ...] | None
    label: str
    revision: int
    # The filter fields as stored (JSON), read only when needed (a record that is gone).
    context_json: str | None = None

    @property
    def context(self) -> dict[str, str]:
        return _context(self.context_json)


@dataclass(frozen=True, slots=True)
class FingerprintWrite:
    """One record's new fingerprint (``watched`` None: it is gone), written only when the
    stored one still has ``expected_revision`` (0: none stored)."""

    record_id: int
    watched: tuple[str, ...] | None
    label: str
    expected_revision: int
    context: Mapping[str, str] = field(default_factory=dict)


def _key(team_id: str | None, enterprise_id: str | None) -> tuple[str, str]:
    team = (team_id or "").strip()
    enterprise = (enterprise_id or "").strip()
    if not team and not enterprise:
        raise ValueError("A workspace needs a team_id or an enterprise_id.")
    return enterprise, team


def _joined(watched: tuple[str, ...] | None) -> str | None:
    return None if watched is None else FINGERPRINT_SEPARATOR.join(watched)


def _split(stored: str | None) -> tuple[str, ...] | None:
    return None if stored is None else tuple(stored.split(FINGERPRINT_SEPARATOR))


def _context(stored: str | None) -> dict[str, str]:
    if not stored:
        return {}
    try:
        value = json.loads(stored)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _context_text(context: Mapping[str, str]) -> str | None:
    return json.dumps(dict(context), separators=(",", ":")) if context else None


def _label(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


class FingerprintStore:
    """Fingerprints and list states, strictly per workspace."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"FingerprintStore({self._db!r})"

    def _insert(self) -> type[sqlite.Insert] | type[postgresql.Insert]:
        return postgresql.Insert if self._db.dialect_name == "postgresql" else sqlite.Insert

    async def baseline_at(
        self, team_id: str | None, enterprise_id: str | None, kind: str
    ) -> datetime | None:
        """When the kind's baseline was taken; None before."""
        enterprise, team = _key(team_id, enterprise_id)
        columns = poll_lists.c
        query = select(columns.baseline_at).where(
            columns.enterprise_id == enterprise, columns.team_id == team, columns.kind == kind
        )
        async with self._db.read() as conn:
            found: datetime | None = (await conn.execute(query)).scalar_one_or_none()
        return found

    async def kinds_kept(self, team_id: str | None, enterprise_id: str | None) -> set[str]:
        """The kinds of the workspace whose records are remembered (a baseline was taken, or
        a look remembered a record before it)."""
        enterprise, team = _key(team_id, enterprise_id)
        found: set[str] = set()
        async with self._db.read() as conn:
            for table in (poll_lists, fingerprints):
                query = (
                    select(table.c.kind)
                    .where(table.c.enterprise_id == enterprise, table.c.team_id == team)
                    .distinct()
                )
                found.update(str(kind) for kind in (await conn.execute(query)).scalars())
        return found

    async def load(
        self, team_id: str | None, enterprise_id: str | None, kind: str
    ) -> dict[int, Fingerprint]:
        """Every fingerprint of the kind, tombstones included (none before its baseline)."""
        return (await self.load_with_baseline(team_id, enterprise_id, kind))[1]

    async def load_with_baseline(
        self, team_id: str | None, enterprise_id: str | None, kind: str
    ) -> tuple[datetime | None, dict[int, Fingerprint]]:
        """When the kind's baseline was taken (None: not yet, and no fingerprints are read)
        and every fingerprint of the kind, tombstones included: one trip to the database."""
        enterprise, team = _key(team_id, enterprise_id)
        lists = poll_lists.c
        baseline_query = select(lists.baseline_at).where(
            lists.enterprise_id == enterprise, lists.team_id == team, lists.kind == kind
        )
        columns = fingerprints.c
        query = select(
            columns.record_id, columns.watched, columns.label, columns.revision, columns.context
        ).where(columns.enterprise_id == enterprise, columns.team_id == team, columns.kind == kind)
        async with self._db.read() as conn:
            baseline: datetime | None = (await conn.execute(baseline_query)).scalar_one_or_none()
            if baseline is None:
                return None, {}
            result = await conn.execute(query)
            return baseline, {
                row.record_id: Fingerprint(
                    row.record_id,
                    _split(row.watched),
                    row.label,
                    row.revision,
                    row.context,
                )
                for row in result
            }

    async def list_state(
        self, team_id: str | None, enterprise_id: str | None, kind: str
    ) -> tuple[datetime | None, tuple[int, int]]:
        """When the kind's baseline was taken (None: not yet) and a summary of its stored
        fingerprints that changes with every write (how many, the sum of their revisions,
        which only go up): one small read, to tell whether anything was written since."""
        enterprise, team = _key(team_id, enterprise_id)
        lists = poll_lists.c
        baseline_query = select(lists.baseline_at).where(
            lists.enterprise_id == enterprise, lists.team_id == team, lists.kind == kind
        )
        columns = fingerprints.c
        summary_query = select(func.count(), func.coalesce(func.sum(columns.revision), 0)).where(
            columns.enterprise_id == enterprise, columns.team_id == team, columns.kind == kind
        )
        async with self._db.read() as conn:
            baseline: datetime | None = (await conn.execute(baseline_query)).scalar_one_or_none()
            if baseline is None:
                return None, (0, 0)
            count, total = (await conn.execute(summary_query)).one()
        return baseline, (int(count), int(total))

    async def load_watched(
        self, team_id: str | None, enterprise_id: str | None, kind: str
    ) -> tuple[datetime | None, dict[int, str | None]]:
        """When the kind's baseline was taken (None: not yet, and nothing else is read) and
        each record's watched values as stored (joined by FINGERPRINT_SEPARATOR; None: gone),
        in one trip to the database: all a read that finds nothing changed needs. The whole
        fingerprints of the records that did change are read with ``get_many``."""
        enterprise, team = _key(team_id, enterprise_id)
        lists = poll_lists.c
        baseline_query = select(lists.baseline_at).where(
            lists.enterprise_id == enterprise, lists.team_id == team, lists.kind == kind
        )
        columns = fingerprints.c
        query = select(columns.record_id, columns.watched).where(
            columns.enterprise_id == enterprise, columns.team_id == team, columns.kind == kind
        )
        async with self._db.read() as conn:
            baseline: datetime | None = (await conn.execute(baseline_query)).scalar_one_or_none()
            if baseline is None:
                return None, {}
            result = await conn.execute(query)
            return baseline, {row[0]: row[1] for row in result}

    async def get(
        self, team_id: str | None, enterprise_id: str | None, kind: str, record_id: int
    ) -> Fingerprint | None:
        enterprise, team = _key(team_id, enterprise_id)
        columns = fingerprints.c
        query = select(columns.watched, columns.label, columns.revision, columns.context).where(
            columns.enterprise_id == enterprise,
            columns.team_id == team,
            columns.kind == kind,
            columns.record_id == record_id,
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).one_or_none()
        return (
            None
            if row is None
            else Fingerprint(record_id, _split(row.watched), row.label, row.revision)
        )

    async def get_many(
        self, team_id: str | None, enterprise_id: str | None, kind: str, record_ids: list[int]
    ) -> dict[int, Fingerprint]:
        """The fingerprints of these records (those stored), in one read."""
        if not record_ids:
            return {}
        enterprise, team = _key(team_id, enterprise_id)
        columns = fingerprints.c
        query = select(
            columns.record_id, columns.watched, columns.label, columns.revision, columns.context
        ).where(
            columns.enterprise_id == enterprise,
            columns.team_id == team,
            columns.kind == kind,
            columns.record_id.in_(record_ids),
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return {
            row.record_id: Fingerprint(
                row.record_id, _split(row.watched), row.label, row.revision, row.context
            )
            for row in rows
        }

    async def record_baseline(
        self,
        team_id: str | None,
        enterprise_id: str | None,
        kind: str,
        records: Iterable[tuple[int, tuple[str, ...], str, Mapping[str, str]]],
        *,
        batch: int = 500,
    ) -> None:
        """The first look at a list: every ``(record_id, watched, label, context)`` stored
        (a record a webhook stored meanwhile is kept), then the list marked as having its
        baseline."""
        enterprise, team = _key(team_id, enterprise_id)
        now = utc_now()
        insert = self._insert()
        rows = [
            {
                "enterprise_id": enterprise,
                "team_id": team,
                "kind": kind,
                "record_id": record_id,
                "watched": _joined(watched),
                "label": _label(label),
                "context": _context_text(context),
                "revision": 1,
                "seen_at": now,
            }
            for record_id, watched, label, context in records
        ]
        async with self._db.write() as conn:
            for start in range(0, len(rows), batch):
                statement = insert(fingerprints).on_conflict_do_nothing()
                await conn.execute(statement, rows[start : start + batch])
            statement = insert(poll_lists).values(
                enterprise_id=enterprise, team_id=team, kind=kind, baseline_at=now, read_at=now
            )
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["enterprise_id", "team_id", "kind"],
                    set_={"baseline_at": now, "read_at": now},
                )
            )

    async def compare_and_set(
        self,
        team_id: str | None,
        enterprise_id: str | None,
        kind: str,
        writes: Sequence[FingerprintWrite],
    ) -> list[bool]:
        """Write each fingerprint if the stored one still has its ``expected_revision``;
        which writes took."""
        enterprise, team = _key(team_id, enterprise_id)
        columns = fingerprints.c
        now = utc_now()
        insert = self._insert()
        taken: list[bool] = []
        async with self._db.write() as conn:
            for write in writes:
                values = {
                    "watched": _joined(write.watched),
                    "label": _label(write.label),
                    "context": _context_text(write.context),
                    "seen_at": now,
                }
                statement: Any
                if write.expected_revision == 0:
                    statement = (
                        insert(fingerprints)
                        .values(
                            enterprise_id=enterprise,
                            team_id=team,
                            kind=kind,
                            record_id=write.record_id,
                            revision=1,
                            **values,
                        )
                        .on_conflict_do_nothing()
                    )
                else:
                    statement = (
                        update(fingerprints)
                        .where(
                            columns.enterprise_id == enterprise,
                            columns.team_id == team,
                            columns.kind == kind,
                            columns.record_id == write.record_id,
                            columns.revision == write.expected_revision,
                        )
                        .values(revision=write.expected_revision + 1, **values)
                    )
                result = await conn.execute(statement)
                taken.append(result.rowcount == 1)
        return taken

    async def forget(
        self, team_id: str | None, enterprise_id: str | None, kinds: Iterable[str] | None = None
    ) -> None:
        """Drop what was seen of the workspace's records (all kinds, or ``kinds``): after a
        new PMP is connected, or once nothing subscribes to a kind any more. The next look
        takes a new baseline."""
        enterprise, team = _key(team_id, enterprise_id)
        async with self._db.write() as conn:
            for table in (fingerprints, poll_lists):
                where = and_(table.c.enterprise_id == enterprise, table.c.team_id == team)
                if kinds is not None:
                    where = and_(where, table.c.kind.in_(list(kinds)))
                await conn.execute(delete(table).where(where))

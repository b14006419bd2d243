"""Channel subscriptions to PMP activity, and what their delivery keeps in the database.

Tables (all on `bot.storage.schema.metadata`, created by create_all):

- ``pmp_bot_subscriptions``: what a channel gets (kind + filters, broadcast, card style),
  paused when the channel can't be posted to.
- ``pmp_bot_subscription_events``: every accepted PMP event once per workspace (its ``key``
  drops repeats), kept a while after delivery so a late repeat is still recognised.
- ``pmp_bot_subscription_outbox``: one row per (event, channel) or per lookup notice, kept
  until Slack accepted the message; ``claimed_at`` marks a row whose post may be in flight.
- ``pmp_bot_subscription_threads``: the parent message of a record in a channel.
- ``pmp_bot_subscription_pacing``: when a channel may next be posted to, for every instance.

Every method takes the Slack team id and touches only that workspace's rows.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    false,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.schema import UtcDateTime, metadata, utc_now
from bot.storage.shared_reads import READ_REUSE_SECONDS, READ_STALE_SECONDS, SharedReads

__all__ = [
    "CARD_STYLES",
    "SUBSCRIPTION_KINDS",
    "CardStyle",
    "ChannelKey",
    "DeliveryStore",
    "NewEvent",
    "OutboxRow",
    "OutboxTarget",
    "Subscription",
    "SubscriptionFilters",
    "SubscriptionKind",
    "SubscriptionStore",
]

SubscriptionKind = Literal["tickets", "leads", "projects", "milestones", "customers", "lookups"]
SUBSCRIPTION_KINDS: tuple[SubscriptionKind, ...] = get_args(SubscriptionKind)
CardStyle = Literal["compact", "full"]
CARD_STYLES: tuple[CardStyle, ...] = get_args(CardStyle)

_SLACK_ID = 32
_KEY_MAX = 255
_REASON_MAX = 200
_ERROR_MAX = 200

ChannelKey = tuple[str, str | None, str]
"""(team_id, enterprise_id, channel_id) of a channel with deliveries waiting."""


@dataclass(frozen=True, slots=True)
class SubscriptionFilters:
    """What narrows a subscription; None means any. Only ticket subscriptions use
    department, priority and status."""

    department: int | None = None
    priority: int | None = None
    status: int | None = None
    customer_id: int | None = None
    project_id: int | None = None

    @property
    def empty(self) -> bool:
        return self == _NO_FILTERS

    def key(self) -> str:
        """One string per distinct set of filters (NULLs never collide in a unique key)."""
        return "|".join(
            "" if value is None else str(value)
            for value in (
                self.department,
                self.priority,
                self.status,
                self.customer_id,
                self.project_id,
            )
        )


_NO_FILTERS = SubscriptionFilters()


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    team_id: str
    enterprise_id: str | None
    channel_id: str
    kind: SubscriptionKind
    filters: SubscriptionFilters
    broadcast_status: bool
    style: CardStyle
    created_by: str
    created_at: datetime
    paused_at: datetime | None = None
    paused_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.paused_at is None


subscriptions_table = Table(
    "pmp_bot_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(_SLACK_ID), nullable=False),
    Column("enterprise_id", String(_SLACK_ID), nullable=False, default=""),
    Column("channel_id", String(_SLACK_ID), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("department", Integer, nullable=True),
    Column("priority", Integer, nullable=True),
    Column("status", Integer, nullable=True),
    Column("customer_id", Integer, nullable=True),
    Column("project_id", Integer, nullable=True),
    Column("filters_key", String(120), nullable=False),
    Column("broadcast_status", Boolean, nullable=False, default=False, server_default=false()),
    Column("style", String(16), nullable=False, default="compact", server_default="compact"),
    Column("created_by", String(_SLACK_ID), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("paused_at", UtcDateTime, nullable=True),
    Column("paused_reason", String(_REASON_MAX), nullable=True),
    UniqueConstraint(
        "team_id", "channel_id", "kind", "filters_key", name="uq_pmp_bot_subscriptions_filters"
    ),
    Index("ix_pmp_bot_subscriptions_kind", "kind", "paused_at"),
)

events_table = Table(
    "pmp_bot_subscription_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(_SLACK_ID), nullable=False),
    Column("enterprise_id", String(_SLACK_ID), nullable=False, default=""),
    Column("key", String(_KEY_MAX), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("record_id", Integer, nullable=False),
    Column("event", String(16), nullable=False),
    # {"changes": {field: [before, after]}, "record": {field: value}}
    Column("payload", JSON, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("accepted_at", UtcDateTime, nullable=False),
    UniqueConstraint("team_id", "key", name="uq_pmp_bot_subscription_events_key"),
    Index("ix_pmp_bot_subscription_events_accepted", "accepted_at"),
    sqlite_autoincrement=True,
)

outbox_table = Table(
    "pmp_bot_subscription_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(_SLACK_ID), nullable=False),
    Column("enterprise_id", String(_SLACK_ID), nullable=False, default=""),
    Column("channel_id", String(_SLACK_ID), nullable=False),
    # An event's delivery, or a lookup notice line (then event_id is NULL).
    Column("event_id", Integer, nullable=True),
    Column("notice", Text, nullable=True),
    Column("style", String(16), nullable=False, default="compact"),
    Column("broadcast", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Set before the message is sent: a row claimed earlier may have reached Slack already.
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(_ERROR_MAX), nullable=True),
    UniqueConstraint("event_id", "channel_id", name="uq_pmp_bot_subscription_outbox_event"),
    Index("ix_pmp_bot_subscription_outbox_channel", "team_id", "channel_id", "id"),
    # A row's id names its message in Slack (message metadata): never given out twice, also
    # on SQLite once the table was empty (PostgreSQL's sequences never reuse one).
    sqlite_autoincrement=True,
)

threads_table = Table(
    "pmp_bot_subscription_threads",
    metadata,
    Column("team_id", String(_SLACK_ID), primary_key=True),
    Column("channel_id", String(_SLACK_ID), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("record_id", Integer, primary_key=True, autoincrement=False),
    Column("parent_ts", String(32), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

pacing_table = Table(
    "pmp_bot_subscription_pacing",
    metadata,
    Column("team_id", String(_SLACK_ID), primary_key=True),
    Column("channel_id", String(_SLACK_ID), primary_key=True),
    Column("next_at", UtcDateTime, nullable=False),
)


def _enterprise(value: str | None) -> str:
    return value or ""


def _filters_of(row: RowMapping) -> SubscriptionFilters:
    return SubscriptionFilters(
        department=row["department"],
        priority=row["priority"],
        status=row["status"],
        customer_id=row["customer_id"],
        project_id=row["project_id"],
    )


def _subscription_of(row: RowMapping) -> Subscription:
    return Subscription(
        id=row["id"],
        team_id=row["team_id"],
        enterprise_id=row["enterprise_id"] or None,
        channel_id=row["channel_id"],
        kind=row["kind"],
        filters=_filters_of(row),
        broadcast_status=bool(row["broadcast_status"]),
        style=row["style"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        paused_at=row["paused_at"],
        paused_reason=row["paused_reason"],
    )


def _filter_values(filters: SubscriptionFilters) -> dict[str, Any]:
    return {
        "department": filters.department,
        "priority": filters.priority,
        "status": filters.status,
        "customer_id": filters.customer_id,
        "project_id": filters.project_id,
        "filters_key": filters.key(),
    }


class SubscriptionStore:
    """A workspace's channel subscriptions."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Every lookup asks which channels get its notice; the lookups of a burst share one
        # read of them (see bot/storage/shared_reads.py and READ_REUSE_SECONDS).
        self._lookup_channels: SharedReads[str, tuple[str, ...]] = SharedReads(
            self._read_lookup_channels
        )

    def __repr__(self) -> str:
        return f"SubscriptionStore({self._db!r})"

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        self._lookup_channels.changed()
        try:
            async with self._db.write() as conn:
                yield conn
        finally:
            self._lookup_channels.changed()  # reads begun during the write aren't shared

    async def lookup_channels(self, team_id: str) -> tuple[str, ...]:
        """The channels with an active `lookups` subscription in this workspace, each once.
        A change through this store is seen by the next call, one made elsewhere (another
        instance) at most READ_STALE_SECONDS late."""
        return await self._lookup_channels.get(
            team_id, reuse=READ_REUSE_SECONDS, stale=READ_STALE_SECONDS
        )

    async def _read_lookup_channels(self, team_id: str) -> tuple[str, ...]:
        c = subscriptions_table.c
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    select(c.channel_id)
                    .where(c.team_id == team_id, c.kind == "lookups", c.paused_at.is_(None))
                    .order_by(c.channel_id, c.id)
                )
            ).all()
        return tuple(dict.fromkeys(row.channel_id for row in rows))

    async def aclose(self) -> None:
        """Waits for the reads started ahead of lookups, before the database goes away."""
        await self._lookup_channels.aclose()

    async def add(
        self,
        team_id: str,
        enterprise_id: str | None,
        channel_id: str,
        kind: SubscriptionKind,
        filters: SubscriptionFilters,
        *,
        created_by: str,
        broadcast_status: bool = False,
        style: CardStyle = "compact",
    ) -> tuple[Subscription, bool]:
        """(the subscription, whether it was created): the same channel, kind and filters
        give back the existing one unchanged."""
        if not team_id or not channel_id:
            raise ValueError("team_id and channel_id are required")
        if kind not in SUBSCRIPTION_KINDS:
            raise ValueError(f"unknown subscription kind {kind!r}")
        if style not in CARD_STYLES:
            raise ValueError(f"unknown card style {style!r}")
        existing = await self._find(team_id, channel_id, kind, filters)
        if existing is not None:
            return existing, False
        values = {
            "team_id": team_id,
            "enterprise_id": _enterprise(enterprise_id),
            "channel_id": channel_id,
            "kind": kind,
            **_filter_values(filters),
            "broadcast_status": broadcast_status,
            "style": style,
            "created_by": created_by,
            "created_at": utc_now(),
        }
        try:
            async with self._write() as conn:
                new_id = (
                    await conn.execute(
                        subscriptions_table.insert().values(**values),
                    )
                ).inserted_primary_key
        except IntegrityError:
            # Added at the same moment by another request: that one is the subscription.
            existing = await self._find(team_id, channel_id, kind, filters)
            if existing is None:
                raise
            return existing, False
        assert new_id is not None
        created = await self.get(team_id, int(new_id[0]))
        assert created is not None
        return created, True

    async def _find(
        self, team_id: str, channel_id: str, kind: str, filters: SubscriptionFilters
    ) -> Subscription | None:
        c = subscriptions_table.c
        async with self._db.read() as conn:
            row = (
                (
                    await conn.execute(
                        select(subscriptions_table).where(
                            c.team_id == team_id,
                            c.channel_id == channel_id,
                            c.kind == kind,
                            c.filters_key == filters.key(),
                        )
                    )
                )
                .mappings()
                .first()
            )
        return _subscription_of(row) if row is not None else None

    async def get(self, team_id: str, subscription_id: int) -> Subscription | None:
        """None when there is no such subscription in this workspace."""
        c = subscriptions_table.c
        async with self._db.read() as conn:
            row = (
                (
                    await conn.execute(
                        select(subscriptions_table).where(
                            c.team_id == team_id, c.id == subscription_id
                        )
                    )
                )
                .mappings()
                .first()
            )
        return _subscription_of(row) if row is not None else None

    async def list_for_channel(self, team_id: str, channel_id: str) -> list[Subscription]:
        c = subscriptions_table.c
        return await self._list(and_(c.team_id == team_id, c.channel_id == channel_id))

    async def list_for_team(self, team_id: str) -> list[Subscription]:
        return await self._list(subscriptions_table.c.team_id == team_id)

    async def _list(self, condition: Any) -> list[Subscription]:
        c = subscriptions_table.c
        async with self._db.read() as conn:
            rows = (
                (
                    await conn.execute(
                        select(subscriptions_table)
                        .where(condition)
                        .order_by(c.channel_id, c.kind, c.id)
                    )
                )
                .mappings()
                .all()
            )
        return [_subscription_of(row) for row in rows]

    async def update(
        self,
        team_id: str,
        subscription_id: int,
        *,
        filters: SubscriptionFilters | None = None,
        broadcast_status: bool | None = None,
        style: CardStyle | None = None,
    ) -> Subscription | None:
        """Changes what is given; None when there is no such subscription in this workspace.
        New filters that another subscription of the channel already has raise ValueError."""
        values: dict[str, Any] = {}
        if filters is not None:
            values.update(_filter_values(filters))
        if broadcast_status is not None:
            values["broadcast_status"] = broadcast_status
        if style is not None:
            if style not in CARD_STYLES:
                raise ValueError(f"unknown card style {style!r}")
            values["style"] = style
        if values:
            c = subscriptions_table.c
            try:
                async with self._write() as conn:
                    await conn.execute(
                        update(subscriptions_table)
                        .where(c.team_id == team_id, c.id == subscription_id)
                        .values(**values)
                    )
            except IntegrityError as error:
                raise ValueError("the channel already has a subscription with those filters") from (
                    error
                )
        return await self.get(team_id, subscription_id)

    async def remove(self, team_id: str, subscription_id: int) -> bool:
        c = subscriptions_table.c
        async with self._write() as conn:
            result = await conn.execute(
                delete(subscriptions_table).where(c.team_id == team_id, c.id == subscription_id)
            )
        return bool(result.rowcount)

    async def remove_matching(
        self,
        team_id: str,
        channel_id: str,
        kind: SubscriptionKind,
        filters: SubscriptionFilters | None = None,
    ) -> int:
        """Removes the channel's subscription of `kind` with exactly these filters, or every
        subscription of that kind in the channel when `filters` is None. How many went."""
        c = subscriptions_table.c
        condition = and_(c.team_id == team_id, c.channel_id == channel_id, c.kind == kind)
        if filters is not None:
            condition = and_(condition, c.filters_key == filters.key())
        async with self._write() as conn:
            result = await conn.execute(delete(subscriptions_table).where(condition))
        return int(result.rowcount or 0)

    async def teams_with(self, kinds: Collection[SubscriptionKind]) -> list[tuple[str, str | None]]:
        """(team_id, enterprise_id) of every workspace with an active subscription of one of
        these kinds."""
        if not kinds:
            return []
        c = subscriptions_table.c
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    select(c.team_id, c.enterprise_id)
                    .where(c.kind.in_(list(kinds)), c.paused_at.is_(None))
                    .distinct()
                    .order_by(c.team_id)
                )
            ).all()
        return [(row.team_id, row.enterprise_id or None) for row in rows]

    async def pause_channel(self, team_id: str, channel_id: str, reason: str) -> bool:
        """Pauses the channel's active subscriptions. True when this call paused something,
        so that only one caller (of any instance) reports it."""
        c = subscriptions_table.c
        async with self._write() as conn:
            result = await conn.execute(
                update(subscriptions_table)
                .where(c.team_id == team_id, c.channel_id == channel_id, c.paused_at.is_(None))
                .values(paused_at=utc_now(), paused_reason=reason[:_REASON_MAX])
            )
        return bool(result.rowcount)

    async def resume(self, team_id: str, subscription_id: int) -> Subscription | None:
        """Delivers to the subscription again; None when there is no such subscription."""
        c = subscriptions_table.c
        async with self._write() as conn:
            await conn.execute(
                update(subscriptions_table)
                .where(c.team_id == team_id, c.id == subscription_id)
                .values(paused_at=None, paused_reason=None)
            )
        return await self.get(team_id, subscription_id)


# --- delivery: events, outbox, threads, pacing ------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxTarget:
    """One channel an event goes to, and how."""

    channel_id: str
    style: CardStyle
    broadcast: bool


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to keep once, with the channels it goes to."""

    key: str
    kind: str
    record_id: int
    event: str
    payload: Mapping[str, Any]
    occurred_at: datetime
    targets: Sequence[OutboxTarget]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A message waiting to be delivered: an event's (event_* set) or a notice line."""

    id: int
    team_id: str
    enterprise_id: str | None
    channel_id: str
    style: CardStyle
    broadcast: bool
    created_at: datetime
    claimed_at: datetime | None
    attempts: int
    notice: str | None = None
    event_id: int | None = None
    event_key: str | None = None
    kind: str | None = None
    record_id: int | None = None
    event: str | None = None
    payload: Mapping[str, Any] | None = None
    occurred_at: datetime | None = None


def _insert_ignoring_conflict(db: Database, table: Table) -> Any:
    dialect = postgresql if db.dialect_name == "postgresql" else sqlite
    return dialect.insert(table)


class DeliveryStore:
    """What subscription delivery keeps: accepted events, the outbox, thread parents and each
    channel's pace. The outbox is the source of truth: a row goes only once Slack accepted
    its message."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def database(self) -> Database:
        return self._db

    async def add_events(
        self, team_id: str, enterprise_id: str | None, events: Sequence[NewEvent]
    ) -> tuple[int, list[ChannelKey]]:
        """Keeps each event whose key is new for the workspace, with one outbox row per
        target channel, in one transaction. How many were new, and the channels that got
        rows (in order, once)."""
        channels: dict[str, None] = {}
        fresh = 0
        if not events:
            return 0, []
        now = utc_now()
        ev = events_table.c
        async with self._db.write() as conn:
            for item in events:
                statement = (
                    _insert_ignoring_conflict(self._db, events_table)
                    .values(
                        team_id=team_id,
                        enterprise_id=_enterprise(enterprise_id),
                        key=item.key[:_KEY_MAX],
                        kind=item.kind,
                        record_id=item.record_id,
                        event=item.event,
                        payload=json.loads(json.dumps(item.payload)),
                        occurred_at=item.occurred_at,
                        accepted_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=[ev.team_id, ev.key])
                    .returning(ev.id)
                )
                event_id = (await conn.execute(statement)).scalar_one_or_none()
                if event_id is None:
                    continue  # a repeat of an event already kept
                fresh += 1
                for target in item.targets:
                    await conn.execute(
                        outbox_table.insert().values(
                            team_id=team_id,
                            enterprise_id=_enterprise(enterprise_id),
                            channel_id=target.channel_id,
                            event_id=event_id,
                            style=target.style,
                            broadcast=target.broadcast,
                            created_at=now,
                            attempts=0,
                        )
                    )
                    channels[target.channel_id] = None
        return fresh, [(team_id, enterprise_id, channel) for channel in channels]

    async def count_new(self, team_id: str, keys: Sequence[str]) -> int:
        """How many of `keys` are not kept yet for the workspace."""
        if not keys:
            return 0
        ev = events_table.c
        async with self._db.read() as conn:
            known = set(
                (
                    await conn.execute(
                        select(ev.key).where(ev.team_id == team_id, ev.key.in_(list(keys)))
                    )
                ).scalars()
            )
        return len(set(keys) - known)

    async def add_notice(
        self, team_id: str, enterprise_id: str | None, channel_id: str, line: str
    ) -> ChannelKey:
        """Queues a lookup notice line for a channel."""
        async with self._db.write() as conn:
            await conn.execute(
                outbox_table.insert().values(
                    team_id=team_id,
                    enterprise_id=_enterprise(enterprise_id),
                    channel_id=channel_id,
                    notice=line,
                    style="compact",
                    broadcast=False,
                    created_at=utc_now(),
                    attempts=0,
                )
            )
        return (team_id, enterprise_id, channel_id)

    async def pending(self, team_id: str, channel_id: str, *, limit: int = 50) -> list[OutboxRow]:
        """The channel's waiting rows, oldest first."""
        o = outbox_table.c
        e = events_table.c
        query = (
            select(
                outbox_table,
                e.key.label("event_key"),
                e.kind.label("event_kind"),
                e.record_id.label("event_record_id"),
                e.event.label("event_name"),
                e.payload.label("event_payload"),
                e.occurred_at.label("event_occurred_at"),
            )
            .select_from(outbox_table.outerjoin(events_table, o.event_id == e.id))
            .where(o.team_id == team_id, o.channel_id == channel_id)
            .order_by(o.id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            OutboxRow(
                id=row["id"],
                team_id=row["team_id"],
                enterprise_id=row["enterprise_id"] or None,
                channel_id=row["channel_id"],
                style=row["style"],
                broadcast=bool(row["broadcast"]),
                created_at=row["created_at"],
                claimed_at=row["claimed_at"],
                attempts=row["attempts"],
                notice=row["notice"],
                event_id=row["event_id"],
                event_key=row["event_key"],
                kind=row["event_kind"],
                record_id=row["event_record_id"],
                event=row["event_name"],
                payload=row["event_payload"],
                occurred_at=row["event_occurred_at"],
            )
            for row in rows
        ]

    async def has_later(
        self, team_id: str, channel_id: str, kind: str, record_id: int, *, after_id: int
    ) -> bool:
        """Whether an event of the record waits for the channel after row `after_id`."""
        o = outbox_table.c
        e = events_table.c
        query = (
            select(o.id)
            .select_from(outbox_table.join(events_table, o.event_id == e.id))
            .where(
                o.team_id == team_id,
                o.channel_id == channel_id,
                o.id > after_id,
                e.kind == kind,
                e.record_id == record_id,
            )
            .limit(1)
        )
        async with self._db.read() as conn:
            return (await conn.execute(query)).first() is not None

    async def channels_with_pending(self) -> list[ChannelKey]:
        """Every channel with rows waiting (to schedule their delivery after a restart)."""
        o = outbox_table.c
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    select(o.team_id, o.enterprise_id, o.channel_id)
                    .distinct()
                    .order_by(o.team_id, o.channel_id)
                )
            ).all()
        return [(row.team_id, row.enterprise_id or None, row.channel_id) for row in rows]

    async def claim(self, row_ids: Sequence[int], *, at: datetime | None = None) -> datetime:
        """Marks rows as about to be sent (keeping the first claim's time: a message may have
        reached Slack since then). The time recorded for rows claimed now."""
        now = at or utc_now()
        o = outbox_table.c
        async with self._db.write() as conn:
            await conn.execute(
                update(outbox_table)
                .where(o.id.in_(list(row_ids)), o.claimed_at.is_(None))
                .values(claimed_at=now)
            )
            await conn.execute(
                update(outbox_table).where(o.id.in_(list(row_ids))).values(attempts=o.attempts + 1)
            )
        return now

    async def unclaim(self, row_ids: Sequence[int], error: str) -> None:
        """Slack refused the message: it was not posted, so a later try needs no search."""
        o = outbox_table.c
        async with self._db.write() as conn:
            await conn.execute(
                update(outbox_table)
                .where(o.id.in_(list(row_ids)))
                .values(claimed_at=None, last_error=error[:_ERROR_MAX])
            )

    async def delivered(
        self,
        row_ids: Sequence[int],
        *,
        thread: tuple[str, str, str, int, str] | None = None,
    ) -> None:
        """Slack accepted the message of these rows: they go. `thread` is (team_id,
        channel_id, kind, record_id, parent_ts) when the message was a record's parent."""
        o = outbox_table.c
        async with self._db.write() as conn:
            await conn.execute(delete(outbox_table).where(o.id.in_(list(row_ids))))
            if thread is not None:
                await self._set_thread(conn, *thread)

    async def drop_channel(self, team_id: str, channel_id: str, error: str) -> int:
        """Gives up on every waiting row of a channel that can't be posted to."""
        o = outbox_table.c
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(outbox_table).where(o.team_id == team_id, o.channel_id == channel_id)
            )
        return int(result.rowcount or 0)

    async def _set_thread(
        self,
        conn: AsyncConnection,
        team_id: str,
        channel_id: str,
        kind: str,
        record_id: int,
        parent_ts: str,
    ) -> None:
        t = threads_table.c
        statement = (
            _insert_ignoring_conflict(self._db, threads_table)
            .values(
                team_id=team_id,
                channel_id=channel_id,
                kind=kind,
                record_id=record_id,
                parent_ts=parent_ts,
                updated_at=utc_now(),
            )
            .on_conflict_do_update(
                index_elements=[t.team_id, t.channel_id, t.kind, t.record_id],
                set_={"parent_ts": parent_ts, "updated_at": utc_now()},
            )
        )
        await conn.execute(statement)

    async def thread(self, team_id: str, channel_id: str, kind: str, record_id: int) -> str | None:
        """The ts of the record's parent message in the channel, if it has one."""
        t = threads_table.c
        async with self._db.read() as conn:
            return (
                await conn.execute(
                    select(t.parent_ts).where(
                        t.team_id == team_id,
                        t.channel_id == channel_id,
                        t.kind == kind,
                        t.record_id == record_id,
                    )
                )
            ).scalar_one_or_none()

    async def forget_thread(self, team_id: str, channel_id: str, kind: str, record_id: int) -> None:
        """The parent message is gone (deleted in Slack): the next event posts a new one."""
        t = threads_table.c
        async with self._db.write() as conn:
            await conn.execute(
                delete(threads_table).where(
                    t.team_id == team_id,
                    t.channel_id == channel_id,
                    t.kind == kind,
                    t.record_id == record_id,
                )
            )

    async def take_turn(
        self, team_id: str, channel_id: str, interval: float, *, now: datetime | None = None
    ) -> float:
        """Books the channel's next post for every instance. Returns how many seconds to wait
        before posting (0: post now); the slot after it is `interval` seconds later."""
        now = now or utc_now()
        p = pacing_table.c
        async with self._db.write() as conn:
            if self._db.dialect_name == "postgresql":
                # The row is locked until commit, so two instances never book the same slot.
                await conn.execute(
                    postgresql.insert(pacing_table)
                    .values(team_id=team_id, channel_id=channel_id, next_at=now)
                    .on_conflict_do_nothing()
                )
                query = (
                    select(p.next_at)
                    .where(p.team_id == team_id, p.channel_id == channel_id)
                    .with_for_update()
                )
            else:
                query = select(p.next_at).where(p.team_id == team_id, p.channel_id == channel_id)
            booked = (await conn.execute(query)).scalar_one_or_none()
            slot = max(now, booked) if booked is not None else now
            values = {"next_at": slot + timedelta(seconds=interval)}
            if booked is None:
                await conn.execute(
                    pacing_table.insert().values(team_id=team_id, channel_id=channel_id, **values)
                )
            else:
                await conn.execute(
                    update(pacing_table)
                    .where(p.team_id == team_id, p.channel_id == channel_id)
                    .values(**values)
                )
        return max((slot - now).total_seconds(), 0.0)

    async def hold_channel(
        self, team_id: str, channel_id: str, seconds: float, *, now: datetime | None = None
    ) -> None:
        """Slack asked to wait (429 Retry-After): no instance posts to the channel before."""
        until = (now or utc_now()) + timedelta(seconds=seconds)
        p = pacing_table.c
        async with self._db.write() as conn:
            updated = await conn.execute(
                update(pacing_table)
                .where(
                    p.team_id == team_id,
                    p.channel_id == channel_id,
                    p.next_at < until,
                )
                .values(next_at=until)
            )
            if not updated.rowcount:
                exists = (
                    await conn.execute(
                        select(p.next_at).where(p.team_id == team_id, p.channel_id == channel_id)
                    )
                ).scalar_one_or_none()
                if exists is None:
                    await conn.execute(
                        pacing_table.insert().values(
                            team_id=team_id, channel_id=channel_id, next_at=until
                        )
                    )

    async def prune_events(self, older_than: timedelta, *, now: datetime | None = None) -> int:
        """Forgets delivered events accepted more than `older_than` ago (their keys with them:
        a repeat after that long counts as new)."""
        cutoff = (now or utc_now()) - older_than
        e = events_table.c
        o = outbox_table.c
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(events_table).where(
                    e.accepted_at < cutoff,
                    ~select(o.id).where(o.event_id == e.id).exists(),
                )
            )
        return int(result.rowcount or 0)

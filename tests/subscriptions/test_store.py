"""The subscription store on SQLite and PostgreSQL: one per channel+kind+filters, workspaces
apart, pausing reported once, and the delivery tables (events once, outbox, threads, pace)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.storage import Database
from bot.storage.subscriptions import (
    DeliveryStore,
    NewEvent,
    OutboxTarget,
    SubscriptionFilters,
    SubscriptionStore,
)

T1, T2 = "T0000000001", "T0000000002"


async def test_add_is_once_per_channel_kind_and_filters(db: Database) -> None:
    store = SubscriptionStore(db)
    first, created = await store.add(
        T1, None, "C1", "tickets", SubscriptionFilters(department=2), created_by="U1"
    )
    assert created
    assert first.kind == "tickets" and first.filters.department == 2
    assert first.style == "compact" and not first.broadcast_status and first.paused_at is None
    again, created = await store.add(
        T1, None, "C1", "tickets", SubscriptionFilters(department=2), created_by="U2", style="full"
    )
    assert not created and again.id == first.id and again.style == "compact"
    other, created = await store.add(
        T1, "E1", "C1", "tickets", SubscriptionFilters(), created_by="U1", broadcast_status=True
    )
    assert created and other.id != first.id and other.enterprise_id == "E1"
    assert [s.id for s in await store.list_for_channel(T1, "C1")] == sorted([first.id, other.id])


async def test_workspaces_are_apart(db: Database) -> None:
    store = SubscriptionStore(db)
    mine, _ = await store.add(T1, None, "C1", "leads", SubscriptionFilters(), created_by="U1")
    assert await store.get(T2, mine.id) is None
    assert await store.update(T2, mine.id, style="full") is None
    assert not await store.remove(T2, mine.id)
    assert await store.remove_matching(T2, "C1", "leads") == 0
    assert not await store.pause_channel(T2, "C1", "is_archived")
    assert await store.list_for_team(T2) == []
    assert (await store.get(T1, mine.id)) == mine


async def test_update_remove_and_remove_matching(db: Database) -> None:
    store = SubscriptionStore(db)
    sub, _ = await store.add(T1, None, "C1", "tickets", SubscriptionFilters(), created_by="U1")
    changed = await store.update(
        T1, sub.id, filters=SubscriptionFilters(priority=3), broadcast_status=True, style="full"
    )
    assert changed is not None
    assert changed.filters == SubscriptionFilters(priority=3)
    assert changed.broadcast_status and changed.style == "full"
    await store.add(T1, None, "C1", "tickets", SubscriptionFilters(status=1), created_by="U1")
    with pytest.raises(ValueError):
        await store.update(T1, sub.id, filters=SubscriptionFilters(status=1))
    await store.add(T1, None, "C1", "leads", SubscriptionFilters(), created_by="U1")
    assert await store.remove_matching(T1, "C1", "tickets", SubscriptionFilters(status=2)) == 0
    assert await store.remove_matching(T1, "C1", "tickets", SubscriptionFilters(status=1)) == 1
    assert await store.remove_matching(T1, "C1", "tickets") == 1
    remaining = await store.list_for_channel(T1, "C1")
    assert [s.kind for s in remaining] == ["leads"]
    assert await store.remove(T1, remaining[0].id)
    assert not await store.remove(T1, remaining[0].id)


async def test_pause_reports_once_and_teams_with_skips_paused(db: Database) -> None:
    store = SubscriptionStore(db)
    a, _ = await store.add(T1, "E1", "C1", "tickets", SubscriptionFilters(), created_by="U1")
    await store.add(T1, "E1", "C1", "projects", SubscriptionFilters(), created_by="U1")
    await store.add(T2, None, "C9", "leads", SubscriptionFilters(), created_by="U1")
    assert await store.teams_with(["tickets", "leads"]) == [(T1, "E1"), (T2, None)]
    assert await store.pause_channel(T1, "C1", "is_archived")
    assert not await store.pause_channel(T1, "C1", "is_archived")
    paused = await store.get(T1, a.id)
    assert paused is not None and paused.paused_reason == "is_archived" and paused.paused_at
    assert await store.teams_with(["tickets"]) == []
    resumed = await store.resume(T1, a.id)
    assert resumed is not None and resumed.paused_at is None and resumed.paused_reason is None
    assert await store.teams_with(["tickets"]) == [(T1, "E1")]
    assert await store.resume(T2, a.id) is None


def _event(key: str, channels: list[str], record_id: int = 7) -> NewEvent:
    return NewEvent(
        key=key,
        kind="ticket",
        record_id=record_id,
        event="status",
        payload={"changes": {"status": ["1", "2"]}, "record": {"subject": "<b>"}},
        occurred_at=datetime(2026, 12, 5, 10, tzinfo=UTC),
        targets=[OutboxTarget(c, "compact", False) for c in channels],
    )


async def test_events_are_kept_once_per_workspace(db: Database) -> None:
    store = DeliveryStore(db)
    fresh, channels = await store.add_events(T1, None, [_event("k1", ["C1", "C2"])])
    assert fresh == 1 and channels == [(T1, None, "C1"), (T1, None, "C2")]
    fresh, channels = await store.add_events(T1, None, [_event("k1", ["C1"]), _event("k2", [])])
    assert fresh == 1 and channels == []
    fresh, _ = await store.add_events(T2, None, [_event("k1", ["C1"])])
    assert fresh == 1
    rows = await store.pending(T1, "C1")
    assert len(rows) == 1 and rows[0].event_key == "k1" and rows[0].record_id == 7
    assert rows[0].payload == {"changes": {"status": ["1", "2"]}, "record": {"subject": "<b>"}}
    assert sorted(await store.channels_with_pending()) == [
        (T1, None, "C1"),
        (T1, None, "C2"),
        (T2, None, "C1"),
    ]


async def test_claim_keeps_first_time_and_delivered_records_thread(db: Database) -> None:
    store = DeliveryStore(db)
    await store.add_events(T1, None, [_event("k1", ["C1"])])
    (row,) = await store.pending(T1, "C1")
    first = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    await store.claim([row.id], at=first)
    await store.claim([row.id], at=first + timedelta(minutes=5))
    (row,) = await store.pending(T1, "C1")
    assert row.claimed_at == first and row.attempts == 2
    await store.delivered([row.id], thread=(T1, "C1", "ticket", 7, "111.222"))
    assert await store.pending(T1, "C1") == []
    assert await store.thread(T1, "C1", "ticket", 7) == "111.222"
    assert await store.thread(T2, "C1", "ticket", 7) is None
    await store.forget_thread(T1, "C1", "ticket", 7)
    assert await store.thread(T1, "C1", "ticket", 7) is None


async def test_pace_is_booked_in_the_database(db: Database) -> None:
    store = DeliveryStore(db)
    now = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    assert await store.take_turn(T1, "C1", 1.0, now=now) == 0
    assert await store.take_turn(T1, "C1", 1.0, now=now) == pytest.approx(1.0)
    assert await store.take_turn(T1, "C1", 1.0, now=now) == pytest.approx(2.0)
    assert await store.take_turn(T1, "C2", 1.0, now=now) == 0
    await store.hold_channel(T1, "C2", 30, now=now)
    assert await store.take_turn(T1, "C2", 1.0, now=now) == pytest.approx(30.0)


async def test_prune_forgets_only_delivered_old_events(db: Database) -> None:
    store = DeliveryStore(db)
    await store.add_events(T1, None, [_event("k1", ["C1"]), _event("k2", [])])
    later = datetime.now(UTC) + timedelta(days=30)
    assert await store.prune_events(timedelta(days=7), now=later) == 1
    fresh, _ = await store.add_events(T1, None, [_event("k1", []), _event("k2", [])])
    assert fresh == 1  # k2 was forgotten, k1 still waits for delivery


async def test_an_outbox_id_is_never_given_out_twice(db: Database) -> None:
    # Slack's copy of a message is found by its row's id: a new row must not take the id of
    # one delivered before, even once the table was empty.
    store = DeliveryStore(db)
    await store.add_events(T1, None, [_event("k1", ["C1"])])
    (first,) = await store.pending(T1, "C1")
    await store.delivered([first.id])
    await store.add_events(T1, None, [_event("k2", ["C1"])])
    (second,) = await store.pending(T1, "C1")
    assert second.id > first.id
    notice = await store.add_notice(T1, None, "C2", "line")
    assert notice == (T1, None, "C2")
    (line,) = await store.pending(T1, "C2")
    assert line.id > second.id

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.storage import Database, RecentLookupsStore

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def _at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def store(db: Database) -> RecentLookupsStore:
    return RecentLookupsStore(db)


async def test_newest_first_with_limit(store: RecentLookupsStore) -> None:
    await store.add("TA", "U1", "customer", 3, "Acme Ltd", now=_at(1))
    await store.add("TA", "U1", "ticket", 17, "Printer on fire", now=_at(2))
    await store.add("TA", "U1", "project", 5, "Website", now=_at(3))
    recent = await store.recent("TA", "U1")
    assert [(r.kind, r.record_id, r.label) for r in recent] == [
        ("project", 5, "Website"),
        ("ticket", 17, "Printer on fire"),
        ("customer", 3, "Acme Ltd"),
    ]
    assert recent[0].viewed_at == _at(3)
    assert [r.record_id for r in await store.recent("TA", "U1", limit=2)] == [5, 17]


async def test_viewing_again_moves_to_the_top_without_duplicates(
    store: RecentLookupsStore,
) -> None:
    await store.add("TA", "U1", "customer", 3, "Acme", now=_at(1))
    await store.add("TA", "U1", "customer", 4, "Globex", now=_at(2))
    await store.add("TA", "U1", "customer", 3, "Acme Corporation", now=_at(3))
    recent = await store.recent("TA", "U1")
    assert [(r.record_id, r.label) for r in recent] == [(3, "Acme Corporation"), (4, "Globex")]


async def test_same_id_of_another_kind_is_another_record(store: RecentLookupsStore) -> None:
    await store.add("TA", "U1", "customer", 3, "Acme", now=_at(1))
    await store.add("TA", "U1", "lead", 3, "Acme lead", now=_at(2))
    assert len(await store.recent("TA", "U1")) == 2


async def test_keeps_only_the_last_twenty_per_user(store: RecentLookupsStore) -> None:
    for n in range(25):
        await store.add("TA", "U1", "customer", n, f"Customer {n}", now=_at(n))
    await store.add("TA", "U2", "customer", 0, "Someone else's", now=_at(0))
    kept = await store.recent("TA", "U1", limit=100)
    assert [r.record_id for r in kept] == list(range(24, 4, -1))
    assert len(await store.recent("TA", "U2", limit=100)) == 1


async def test_users_and_teams_are_kept_apart(store: RecentLookupsStore) -> None:
    await store.add("TA", "U1", "customer", 1, "A's customer", now=_at(1))
    await store.add("TB", "U1", "customer", 2, "B's customer", now=_at(2))
    await store.add("TA", "U2", "customer", 3, "colleague's", now=_at(3))
    assert [r.label for r in await store.recent("TA", "U1")] == ["A's customer"]
    assert [r.label for r in await store.recent("TB", "U1")] == ["B's customer"]
    assert await store.recent("TC", "U1") == []


async def test_labels_are_tidied_and_shortened(store: RecentLookupsStore) -> None:
    await store.add("TA", "U1", "ticket", 1, "  line one\n\tline   two ", now=_at(1))
    await store.add("TA", "U1", "ticket", 2, "x" * 500, now=_at(2))
    by_id = {r.record_id: r.label for r in await store.recent("TA", "U1")}
    assert by_id[1] == "line one line two"
    assert len(by_id[2]) == 200 and by_id[2].endswith("…")


async def test_required_fields(store: RecentLookupsStore, db: Database) -> None:
    with pytest.raises(ValueError):
        await store.add("", "U1", "customer", 1, "x")
    with pytest.raises(ValueError):
        RecentLookupsStore(db, keep=0)


async def test_custom_keep(db: Database) -> None:
    store = RecentLookupsStore(db, keep=2)
    for n in range(4):
        await store.add("TA", "U1", "customer", n, str(n), now=_at(n))
    assert [r.record_id for r in await store.recent("TA", "U1")] == [3, 2]

"""Which channels get a workspace's lookup notices: the lookups of a burst share one read,
every write through the store is seen by the next lookup, a change made by another instance
at most READ_STALE_SECONDS late, and workspaces never share an answer."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage import Database
from bot.storage import subscriptions as subscriptions_module
from bot.storage.subscriptions import SubscriptionFilters, SubscriptionStore

T1, T2 = "T0READS1", "T0READS2"
NONE = SubscriptionFilters()


class CountingStore(SubscriptionStore):
    """Counts the database reads behind `lookup_channels`; `fail_next` fails the next one."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.reads = 0
        self.fail_next = False

    async def _read_lookup_channels(self, team_id: str) -> tuple[str, ...]:
        self.reads += 1
        if self.fail_next:
            self.fail_next = False
            raise OSError("the database went away")
        return await super()._read_lookup_channels(team_id)


@pytest.fixture
async def store(db: Database) -> CountingStore:
    counting = CountingStore(db)
    await counting.add(T1, None, "C1", "lookups", NONE, created_by="U1")
    return counting


async def test_a_burst_of_lookups_shares_one_read(store: CountingStore) -> None:
    together = await asyncio.gather(*(store.lookup_channels(T1) for _ in range(5)))
    after = [await store.lookup_channels(T1) for _ in range(5)]
    assert store.reads == 1
    assert set([*together, *after]) == {("C1",)}


async def test_only_active_lookups_subscriptions_each_channel_once(store: CountingStore) -> None:
    await store.add(T1, None, "C1", "lookups", SubscriptionFilters(department=2), created_by="U1")
    await store.add(T1, None, "C2", "tickets", NONE, created_by="U1")
    await store.add(T1, None, "C3", "lookups", NONE, created_by="U1")
    assert await store.lookup_channels(T1) == ("C1", "C3")
    await store.pause_channel(T1, "C3", "is_archived")
    assert await store.lookup_channels(T1) == ("C1",)


async def test_every_write_through_the_store_is_seen_by_the_next_lookup(
    store: CountingStore,
) -> None:
    assert await store.lookup_channels(T1) == ("C1",)
    added, _ = await store.add(T1, None, "C2", "lookups", NONE, created_by="U1")
    assert await store.lookup_channels(T1) == ("C1", "C2")
    assert await store.pause_channel(T1, "C2", "is_archived")
    assert await store.lookup_channels(T1) == ("C1",)
    await store.resume(T1, added.id)
    assert await store.lookup_channels(T1) == ("C1", "C2")
    assert await store.remove(T1, added.id)
    assert await store.lookup_channels(T1) == ("C1",)
    assert await store.remove_matching(T1, "C1", "lookups") == 1
    assert await store.lookup_channels(T1) == ()
    reads = store.reads
    await store.update(T1, added.id, style="full")  # no such subscription left: still a write
    await store.lookup_channels(T1)
    assert store.reads == reads + 1


async def test_a_read_begun_before_a_write_is_not_answered_after_it(store: CountingStore) -> None:
    early = asyncio.ensure_future(store.lookup_channels(T1))
    await asyncio.sleep(0)  # the early read is under way
    await store.add(T1, None, "C2", "lookups", NONE, created_by="U1")
    assert await store.lookup_channels(T1) == ("C1", "C2")
    await early


async def test_another_instances_change_is_seen_once_the_stale_window_is_over(
    store: CountingStore, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subscriptions_module, "READ_REUSE_SECONDS", 0.0)
    monkeypatch.setattr(subscriptions_module, "READ_STALE_SECONDS", 60.0)
    assert await store.lookup_channels(T1) == ("C1",)
    await SubscriptionStore(db).add(T1, None, "C2", "lookups", NONE, created_by="U1")
    assert await store.lookup_channels(T1) == ("C1",)  # at once, while a new read runs
    seen = []
    for _ in range(500):
        seen.append(await store.lookup_channels(T1))
        if seen[-1] == ("C1", "C2"):
            break
        await asyncio.sleep(0.01)
    assert seen[-1] == ("C1", "C2")
    await store.aclose()
    # Past the stale window no kept answer is given: the next lookup reads.
    monkeypatch.setattr(subscriptions_module, "READ_STALE_SECONDS", 0.0)
    await SubscriptionStore(db).add(T1, None, "C3", "lookups", NONE, created_by="U1")
    assert await store.lookup_channels(T1) == ("C1", "C2", "C3")


async def test_a_failed_read_is_not_reused(store: CountingStore) -> None:
    store.fail_next = True
    with pytest.raises(OSError):
        await store.lookup_channels(T1)
    assert await store.lookup_channels(T1) == ("C1",)
    assert store.reads == 2


async def test_workspaces_are_read_apart(store: CountingStore) -> None:
    await store.add(T2, None, "C9", "lookups", NONE, created_by="U1")
    first, other = await asyncio.gather(store.lookup_channels(T1), store.lookup_channels(T2))
    assert first == ("C1",) and other == ("C9",)
    assert await store.lookup_channels("T0NOBODY") == ()
    await store.remove_matching(T2, "C9", "lookups")
    assert await store.lookup_channels(T2) == ()
    assert await store.lookup_channels(T1) == ("C1",)

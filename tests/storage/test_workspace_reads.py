"""A burst of requests for one workspace costs one database read, and no change made through
the store is ever missed."""

from __future__ import annotations

import asyncio

import pytest

from bot.crypto import TokenCipher
from bot.storage import Database, WorkspaceStore
from bot.storage import workspaces as workspaces_module

TEAM = "T0READS"


class CountingStore(WorkspaceStore):
    """Counts the database reads behind `get`; `fail_next` makes the next one fail."""

    def __init__(self, db: Database, cipher: TokenCipher) -> None:
        super().__init__(db, cipher)
        self.reads = 0
        self.fail_next = False

    async def _read(self, key: tuple[str, str]) -> object:  # type: ignore[override]
        self.reads += 1
        if self.fail_next:
            self.fail_next = False
            raise OSError("the database went away")
        return await super()._read(key)


@pytest.fixture
async def store(db: Database, cipher: TokenCipher) -> CountingStore:
    counting = CountingStore(db, cipher)
    await counting.set_notify_channel(TEAM, None, "C0FIRST")
    return counting


async def test_a_burst_of_requests_shares_one_read(store: CountingStore) -> None:
    together = await asyncio.gather(*(store.get(TEAM) for _ in range(5)))
    after = [await store.get(TEAM) for _ in range(5)]  # one after the other, right after
    assert store.reads == 1
    assert {w.notify_channel_id for w in [*together, *after] if w is not None} == {"C0FIRST"}


async def test_a_change_through_the_store_is_seen_by_the_next_request(
    store: CountingStore,
) -> None:
    assert (await store.get(TEAM)) is not None
    await store.set_notify_channel(TEAM, None, "C0SECOND")
    workspace = await store.get(TEAM)
    assert workspace is not None and workspace.notify_channel_id == "C0SECOND"
    assert store.reads == 2


async def test_a_read_is_not_reused_past_the_window(
    store: CountingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspaces_module, "READ_REUSE_SECONDS", 0.0)
    monkeypatch.setattr(workspaces_module, "READ_STALE_SECONDS", 0.0)
    await store.get(TEAM)
    await store.get(TEAM)
    assert store.reads == 2


async def test_a_stale_read_answers_at_once_while_a_new_one_runs(
    store: CountingStore, db: Database, cipher: TokenCipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspaces_module, "READ_REUSE_SECONDS", 0.0)
    monkeypatch.setattr(workspaces_module, "READ_STALE_SECONDS", 60.0)
    assert (await store.get(TEAM)) is not None
    # Another instance changes the workspace: this one sees it once its next read is in.
    await WorkspaceStore(db, cipher).set_notify_channel(TEAM, None, "C0ELSEWHERE")
    stale = await store.get(TEAM)
    assert stale is not None and stale.notify_channel_id == "C0FIRST"
    seen = []
    for _ in range(500):
        workspace = await store.get(TEAM)
        assert workspace is not None
        seen.append(workspace.notify_channel_id)
        if seen[-1] == "C0ELSEWHERE":
            break
        await asyncio.sleep(0.01)
    assert seen[-1] == "C0ELSEWHERE"
    assert set(seen) <= {"C0FIRST", "C0ELSEWHERE"}
    await store.aclose()  # the read started ahead of the next request


async def test_a_change_through_the_store_is_never_answered_stale(
    store: CountingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspaces_module, "READ_REUSE_SECONDS", 0.0)
    monkeypatch.setattr(workspaces_module, "READ_STALE_SECONDS", 60.0)
    assert (await store.get(TEAM)) is not None
    await store.set_notify_channel(TEAM, None, "C0SECOND")
    workspace = await store.get(TEAM)
    assert workspace is not None and workspace.notify_channel_id == "C0SECOND"


async def test_a_failed_read_is_not_reused(store: CountingStore) -> None:
    store.fail_next = True
    with pytest.raises(OSError):
        await store.get(TEAM)
    workspace = await store.get(TEAM)
    assert workspace is not None and workspace.notify_channel_id == "C0FIRST"
    assert store.reads == 2


async def test_workspaces_are_read_apart(store: CountingStore) -> None:
    await store.set_notify_channel("T0OTHER", None, "C0OTHER")
    first, other = await asyncio.gather(store.get(TEAM), store.get("T0OTHER"))
    assert first is not None and first.notify_channel_id == "C0FIRST"
    assert other is not None and other.notify_channel_id == "C0OTHER"

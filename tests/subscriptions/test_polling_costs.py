"""What a poll that finds nothing changed costs: no fingerprint written or re-read, and the
workspace's "last successful PMP call" written every few minutes, not on every read (a change
between working and failing still at once). Real PMP sandbox over loopback, SQLite and
PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot import pmp_pool
from bot.crypto import TokenCipher
from bot.pmp import AddressPolicy, PmpClient
from bot.pmp_pool import PmpClientPool, WorkspaceKey, default_transport
from bot.sandbox import schema as sandbox_schema
from bot.storage import Database, WorkspaceStore
from bot.storage.fingerprints import Fingerprint, FingerprintStore, FingerprintWrite
from bot.storage.subscriptions import SubscriptionFilters, SubscriptionStore
from bot.subscriptions.events import PmpEvent, RecordKind
from bot.subscriptions.polling import ChangeDetector, Poller

TEAM = "T0COST"
LOOPBACK = AddressPolicy(allow_private=True)


class CountingFingerprints(FingerprintStore):
    """The real store, noting which records each whole-fingerprint read and write named."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.reads: list[list[int]] = []
        self.writes: list[list[int]] = []
        self.loads = 0

    async def load_watched(
        self, team_id: str | None, enterprise_id: str | None, kind: str
    ) -> tuple[datetime | None, dict[int, str | None]]:
        self.loads += 1
        return await super().load_watched(team_id, enterprise_id, kind)

    async def get_many(
        self, team_id: str | None, enterprise_id: str | None, kind: str, record_ids: list[int]
    ) -> dict[int, Fingerprint]:
        self.reads.append(sorted(record_ids))
        return await super().get_many(team_id, enterprise_id, kind, record_ids)

    async def compare_and_set(
        self,
        team_id: str | None,
        enterprise_id: str | None,
        kind: str,
        writes: Sequence[FingerprintWrite],
    ) -> list[bool]:
        self.writes.append(sorted(write.record_id for write in writes))
        return await super().compare_and_set(team_id, enterprise_id, kind, writes)


class CountingWorkspaces(WorkspaceStore):
    """The real store, counting the last-success and last-failure writes asked of it."""

    successes = 0
    failures = 0

    async def mark_pmp_success(
        self, team_id: str | None, enterprise_id: str | None = None, when: datetime | None = None
    ) -> None:
        self.successes += 1
        await super().mark_pmp_success(team_id, enterprise_id, when)

    async def mark_pmp_failure(
        self,
        team_id: str | None,
        enterprise_id: str | None = None,
        *,
        what: str,
        when: datetime | None = None,
    ) -> None:
        self.failures += 1
        await super().mark_pmp_failure(team_id, enterprise_id, what=what, when=when)


class Recorder:
    def __init__(self) -> None:
        self.events: list[PmpEvent] = []

    async def accept(self, events: Sequence[PmpEvent]) -> int:
        self.events.extend(events)
        return len(events)


@pytest.mark.parametrize(
    ("kind", "table", "id_key", "field"),
    [
        ("ticket", sandbox_schema.TICKETS, "ticketid", "status"),
        ("customer", sandbox_schema.CLIENTS, "userid", None),
    ],
)
async def test_an_unchanged_list_writes_nothing_and_a_change_reads_and_writes_one_record(
    db: Database,
    sandbox: Any,
    pmp: PmpClient,
    kind: RecordKind,
    table: Any,
    id_key: str,
    field: str | None,
) -> None:
    store = CountingFingerprints(db)
    recorder = Recorder()
    detector = ChangeDetector(store, recorder.accept)
    first = await detector.poll(TEAM, None, pmp, kind)
    assert first.baseline and first.rows > 1

    for _ in range(2):
        again = await detector.poll(TEAM, None, pmp, kind)
        assert again.rows == first.rows and again.events == 0
    # Nothing changed: no record's whole fingerprint read, nothing written (a customer,
    # whose fingerprint has no watched field, included); the answer the same as the one
    # compared before it: the stored values not even read.
    assert store.reads == [] and store.writes == []
    assert store.loads == 2  # the baseline's and the first compare's
    assert recorder.events == []

    if field is None:
        return
    record = int(sandbox.store.all_rows(table)[0][id_key])
    was = sandbox.store.row(table, str(record))[field]
    sandbox.store.update(table, str(record), {field: "4" if was != "4" else "2"})
    changed = await detector.poll(TEAM, None, pmp, kind)
    assert changed.events == 1
    assert store.reads == [[record]] and store.writes == [[record]]
    assert [(event.record_id, event.event) for event in recorder.events] == [(record, "status")]


async def test_background_reads_write_the_last_success_rarely_and_a_change_at_once(
    db: Database, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every call a user waits on writes its success down; background reads still don't.
    monkeypatch.setattr(pmp_pool, "SUCCESS_MARK_INTERVAL_S", 0.0)
    cipher = TokenCipher.from_keys([Fernet.generate_key().decode()])
    workspaces = CountingWorkspaces(db, cipher)
    subscriptions = SubscriptionStore(db)
    pool = PmpClientPool(
        workspaces, transport_factory=functools.partial(default_transport, LOOPBACK)
    )
    poller = Poller(
        workspaces=workspaces,
        subscriptions=subscriptions,
        pmp_pool=pool,
        detector=ChangeDetector(FingerprintStore(db), Recorder().accept),
        random=lambda: 0.5,
    )
    await workspaces.save_credentials(TEAM, None, sandbox.base_url, sandbox.token, "U1")
    await subscriptions.add(TEAM, None, "C1", "tickets", SubscriptionFilters(), created_by="U1")
    try:
        for _ in range(3):
            assert await poller.poll_workspace(TEAM, None) == pytest.approx(60.0)
            await pool.wait_marks()
        assert workspaces.successes == 1

        # Failing, then working again: both written at once.
        sandbox.faults.error_rate = 1.0
        assert (await poller.poll_workspace(TEAM, None) or 0) > 60.0
        await pool.wait_marks()
        assert workspaces.failures >= 1
        sandbox.faults.error_rate = 0.0
        assert await poller.poll_workspace(TEAM, None) == pytest.approx(60.0)
        await pool.wait_marks()
        assert workspaces.successes == 2
        stored = await workspaces.get(TEAM, None)
        assert stored is not None and stored.last_pmp_success_at is not None

        # A call made outside a background read (a user's lookup) is written as before.
        client = await pool.client_for(WorkspaceKey(TEAM), stored.credentials_version)
        assert client is not None
        await client.resource("ticket").list()
        await pool.wait_marks()
        assert workspaces.successes == 3
    finally:
        await pool.aclose()


async def test_a_list_the_same_as_last_time_is_compared_again_after_a_look_moved_a_record(
    db: Database, sandbox: Any, pmp: PmpClient
) -> None:
    """PMP's list is byte for byte the one compared last, but a webhook's look recorded a
    change in between that PMP undid: the read compares in full and reports the undoing."""
    store = CountingFingerprints(db)
    recorder = Recorder()
    detector = ChangeDetector(store, recorder.accept)
    await detector.poll(TEAM, None, pmp, "ticket")  # the baseline
    await detector.poll(TEAM, None, pmp, "ticket")  # compared in full: nothing changed
    await detector.poll(TEAM, None, pmp, "ticket")  # the same answer: not compared
    assert store.loads == 2 and recorder.events == []

    ticket = int(sandbox.store.all_rows(sandbox_schema.TICKETS)[0]["ticketid"])
    was = sandbox.store.row(sandbox_schema.TICKETS, str(ticket))["status"]
    other = "4" if was != "4" else "2"
    sandbox.store.update(sandbox_schema.TICKETS, str(ticket), {"status": other})
    assert await detector.look(TEAM, None, pmp, "ticket", ticket) == 1
    sandbox.store.update(sandbox_schema.TICKETS, str(ticket), {"status": was})

    result = await detector.poll(TEAM, None, pmp, "ticket")
    assert result.events == 1 and store.loads == 3
    assert [(e.record_id, e.event, e.changes) for e in recorder.events] == [
        (ticket, "status", {"status": (was, other)}),
        (ticket, "status", {"status": (other, was)}),
    ]

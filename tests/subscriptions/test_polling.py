"""Polling PMP 2.0.8 for changes: fingerprints, the baseline, deleted and overdue records,
a 10,000-row list read in bounded memory, and a failing PMP that holds up nobody else.

Every test reads the real PMP sandbox over loopback and changes its records "from PMP's side"
(in its store, as a PMP user's edit would), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.crypto import TokenCipher
from bot.pmp import AddressPolicy, PmpAnswerTooLargeError, PmpClient
from bot.pmp_pool import PmpClientPool, default_transport
from bot.sandbox import running_sandbox
from bot.sandbox import schema as sandbox_schema
from bot.storage import Database, WorkspaceStore
from bot.storage.fingerprints import FingerprintStore
from bot.storage.subscriptions import SubscriptionFilters, SubscriptionStore
from bot.subscriptions.events import PmpEvent
from bot.subscriptions.polling import ChangeDetector, Poller

TEAM = "T0POLL"
OTHER = "T0SLOW"
LOOPBACK = AddressPolicy(allow_private=True)


class Recorder:
    """Stands in for delivery's accept: keeps each key once, like the outbox."""

    def __init__(self) -> None:
        self.events: list[PmpEvent] = []
        self._keys: set[str] = set()

    async def accept(self, events: Sequence[PmpEvent]) -> int:
        fresh = [event for event in events if event.key not in self._keys]
        self._keys.update(event.key for event in fresh)
        self.events.extend(fresh)
        return len(fresh)

    def take(self) -> list[tuple[str, int, str]]:
        taken = [(event.kind, event.record_id, event.event) for event in self.events]
        self.events.clear()
        return taken


def _ticket_ids(sandbox: Any) -> list[int]:
    return [int(row["ticketid"]) for row in sandbox.store.tickets()]


async def test_first_poll_is_a_baseline_and_later_changes_are_events(
    db: Database, sandbox: Any, pmp: PmpClient
) -> None:
    recorder = Recorder()
    detector = ChangeDetector(FingerprintStore(db), recorder.accept)

    first = await detector.poll(TEAM, None, pmp, "ticket")
    assert first.baseline and first.rows == len(_ticket_ids(sandbox)) > 0
    assert recorder.take() == []

    again = await detector.poll(TEAM, None, pmp, "ticket")
    assert not again.baseline and again.events == 0
    assert recorder.take() == []

    ticket = _ticket_ids(sandbox)[0]
    before = sandbox.store.row(sandbox_schema.TICKETS, str(ticket))
    new_status = "4" if before["status"] != "4" else "2"
    new_priority = "1" if before["priority"] != "1" else "2"
    sandbox.store.update(
        sandbox_schema.TICKETS,
        str(ticket),
        {"status": new_status, "priority": new_priority, "lastreply": "2026-12-05 09:30:00"},
    )
    await detector.poll(TEAM, None, pmp, "ticket")
    events = {event.event: event for event in recorder.events}
    assert set(events) == {"status", "priority", "reply"}
    assert events["status"].changes == {"status": (before["status"], new_status)}
    assert events["status"].record["subject"] == before["subject"]
    assert all(event.record_id == ticket for event in recorder.events)
    # Ticket rows carry the department's IMAP login: never in an event.
    assert not any("password" in name or "imap" in name for name in events["status"].record)
    recorder.take()

    # Nothing changed since: nothing new, and the same change isn't reported twice.
    await detector.poll(TEAM, None, pmp, "ticket")
    assert recorder.take() == []


async def test_new_and_deleted_records(db: Database, sandbox: Any, pmp: PmpClient) -> None:
    recorder = Recorder()
    detector = ChangeDetector(FingerprintStore(db), recorder.accept)
    await detector.poll(TEAM, None, pmp, "ticket")

    gone = _ticket_ids(sandbox)[-1]
    department = sandbox.store.row(sandbox_schema.TICKETS, str(gone))["department"]
    sandbox.store.delete_ticket(str(gone))
    await detector.poll(TEAM, None, pmp, "ticket")
    [deleted] = recorder.events
    assert (deleted.record_id, deleted.event) == (gone, "deleted")
    # What subscription filters read is kept for a record that is gone.
    assert deleted.record["department"] == department
    recorder.take()

    customer_id = sandbox.store.add_bulk_customers(1)[0]
    await detector.poll(TEAM, None, pmp, "customer")  # the customers' baseline: no events
    assert recorder.take() == []
    [added] = sandbox.store.add_bulk_customers(1)
    sandbox.store.delete_customer(str(customer_id))
    await detector.poll(TEAM, None, pmp, "customer")
    assert sorted(recorder.take()) == [
        ("customer", customer_id, "deleted"),
        ("customer", added, "created"),
    ]


async def test_a_milestone_becomes_overdue_once(db: Database, sandbox: Any, pmp: PmpClient) -> None:
    recorder = Recorder()
    today = [date(2026, 12, 5)]
    detector = ChangeDetector(FingerprintStore(db), recorder.accept, today=lambda: today[0])
    project = sandbox.store.projects()[0]["id"]
    milestone = sandbox.store.insert(
        sandbox_schema.MILESTONES,
        {"name": "Launch", "project_id": project, "due_date": "2026-12-10"},
    )
    await detector.poll(TEAM, None, pmp, "milestone")
    assert recorder.take() == []

    today[0] = date(2026, 12, 11)
    await detector.poll(TEAM, None, pmp, "milestone")
    assert ("milestone", milestone, "overdue") in recorder.take()
    await detector.poll(TEAM, None, pmp, "milestone")
    assert recorder.take() == []

    # Moved later: a due-date change, and no longer overdue (which posts nothing).
    sandbox.store.update(sandbox_schema.MILESTONES, str(milestone), {"due_date": "2027-01-15"})
    await detector.poll(TEAM, None, pmp, "milestone")
    [moved] = recorder.events
    assert moved.event == "due_date"
    assert moved.changes == {"due_date": ("2026-12-10", "2027-01-15")}


async def test_a_10000_row_list_is_read_as_it_streams(db: Database, sandbox: Any) -> None:
    sandbox.store.add_bulk_customers(10_000)
    total = len(sandbox.store.customers())
    # An answer cap far below the list's size: reading the list whole would fail.
    async with PmpClient(
        base_url=sandbox.base_url,
        token=sandbox.token,
        address_policy=LOOPBACK,
        max_response_bytes=500_000,
        timeout=60,
    ) as small:
        with pytest.raises(PmpAnswerTooLargeError):
            await small.customers.list()
        recorder = Recorder()
        detector = ChangeDetector(FingerprintStore(db), recorder.accept)
        first = await detector.poll(TEAM, None, small, "customer", timeout=60)
        assert first.baseline and first.rows == total >= 10_000
        [added] = sandbox.store.add_bulk_customers(1)
        second = await detector.poll(TEAM, None, small, "customer", timeout=60)
    assert second.rows == total + 1
    assert recorder.take() == [("customer", added, "created")]


async def test_a_failing_pmp_is_retried_later_and_holds_up_no_other_workspace(
    db: Database, sandbox: Any
) -> None:
    cipher = TokenCipher.from_keys([Fernet.generate_key().decode()])
    workspaces = WorkspaceStore(db, cipher)
    subscriptions = SubscriptionStore(db)
    recorder = Recorder()
    pool = PmpClientPool(
        workspaces, transport_factory=functools.partial(default_transport, LOOPBACK)
    )
    poller = Poller(
        workspaces=workspaces,
        subscriptions=subscriptions,
        pmp_pool=pool,
        detector=ChangeDetector(FingerprintStore(db), recorder.accept),
        poll_timeout=3.0,
        random=lambda: 0.5,
    )
    with running_sandbox() as slow:
        slow.faults.hang = True
        for team, site in ((TEAM, sandbox), (OTHER, slow)):
            await workspaces.save_credentials(team, None, site.base_url, site.token, "U1")
            await subscriptions.add(
                team, None, "C1", "tickets", SubscriptionFilters(), created_by="U1"
            )
        try:
            await poller.poll_workspace(TEAM, None)  # the baseline
            ticket = _ticket_ids(sandbox)[0]
            was = sandbox.store.row(sandbox_schema.TICKETS, str(ticket))["priority"]
            priority = "1" if was != "1" else "2"
            sandbox.store.update(sandbox_schema.TICKETS, str(ticket), {"priority": priority})
            stuck = asyncio.ensure_future(poller.poll_workspace(OTHER, None))
            good = asyncio.ensure_future(poller.poll_workspace(TEAM, None))
            done, _ = await asyncio.wait({stuck, good}, return_when=asyncio.FIRST_COMPLETED)
            # The working PMP's read finished while the other PMP still hadn't answered.
            assert done == {good}
            assert good.result() == pytest.approx(60.0)
            assert ("ticket", ticket, "priority") in recorder.take()
            delay = await stuck
        finally:
            slow.app.release_waiting_requests()
        # It failed: the next read waits longer than the interval, and longer again after.
        assert poller.failures(OTHER, None) >= 1
        assert delay is not None and delay > 60.0
        assert poller.failures(TEAM, None) == 0
    await pool.aclose()


async def test_nothing_to_poll_without_a_connection_or_subscriptions(
    db: Database, sandbox: Any
) -> None:
    cipher = TokenCipher.from_keys([Fernet.generate_key().decode()])
    workspaces = WorkspaceStore(db, cipher)
    subscriptions = SubscriptionStore(db)
    pool = PmpClientPool(workspaces)
    poller = Poller(
        workspaces=workspaces,
        subscriptions=subscriptions,
        pmp_pool=pool,
        detector=ChangeDetector(FingerprintStore(db), Recorder().accept),
    )
    assert await poller.poll_workspace(TEAM, None) is None
    await workspaces.save_credentials(TEAM, None, sandbox.base_url, sandbox.token, "U1")
    assert await poller.poll_workspace(TEAM, None) is None  # connected, nothing subscribed
    await subscriptions.add(TEAM, None, "C1", "lookups", SubscriptionFilters(), created_by="U1")
    assert await poller.poll_workspace(TEAM, None) is None  # lookups need no PMP reads
    await pool.aclose()


def test_watched_values_ignore_unwatched_fields() -> None:
    from bot.subscriptions.polling import WATCHES, watched_values

    row = {"ticketid": "7", "status": "1", "priority": "2", "assigned": "0", "subject": "A"}
    same = dict(row, subject="B", message="changed")
    today = date(2026, 12, 5)
    assert watched_values(WATCHES["ticket"], row, today) == watched_values(
        WATCHES["ticket"], same, today
    )
    assert watched_values(WATCHES["ticket"], dict(row, assigned="3"), today) != (
        watched_values(WATCHES["ticket"], row, today)
    )
    done = {"id": "1", "due_date": "2026-12-01", "total_tasks": "2", "total_finished_tasks": "2"}
    assert watched_values(WATCHES["milestone"], done, today) == ("2026-12-01", "0")
    late = dict(done, total_finished_tasks="1")
    assert watched_values(WATCHES["milestone"], late, today) == ("2026-12-01", "1")
    assert watched_values(WATCHES["milestone"], late, today - timedelta(days=10))[1] == "0"


async def test_two_instances_seeing_one_change_make_one_event(
    db: Database, sandbox: Any, pmp: PmpClient
) -> None:
    """Two detectors (two instances, or a read racing a webhook's look) on one database."""
    recorder = Recorder()
    first = ChangeDetector(FingerprintStore(db), recorder.accept)
    second = ChangeDetector(FingerprintStore(db), recorder.accept)
    await first.poll(TEAM, None, pmp, "ticket")
    ticket = _ticket_ids(sandbox)[1]
    was = sandbox.store.row(sandbox_schema.TICKETS, str(ticket))["status"]
    sandbox.store.update(
        sandbox_schema.TICKETS, str(ticket), {"status": "5" if was != "5" else "1"}
    )
    await asyncio.gather(
        first.poll(TEAM, None, pmp, "ticket"), second.look(TEAM, None, pmp, "ticket", ticket)
    )
    assert recorder.take() == [("ticket", ticket, "status")]
    await second.poll(TEAM, None, pmp, "ticket")
    assert recorder.take() == []

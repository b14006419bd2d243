"""Where events come from without webhooks: reading PMP's lists and comparing fingerprints.

PMP 2.0.8 tells nobody about changes, so each workspace with subscriptions has its lists read
every ``Workspace.poll_interval_seconds`` (jittered) and every record compared with what was
seen last: a few watched fields per record (``WATCHES``), not whole rows. The first read of a
kind records a baseline and makes no events; a record that was seen and is missing from the
list is reported as deleted. A 3.x PMP with a registered webhook gets the same read only as a
slow catch-up (deliveries it missed), and single records are looked at when a webhook
delivery or the bot's own change names them (``ChangeDetector.look``).

Both sources turn a change into events through the same fingerprint, written only if nobody
changed it meanwhile, and give each event a key made of the record, its new revision, the
event and the new values: a change seen by a webhook and by the catch-up read is one event.
Events are accepted (kept by delivery) before the fingerprint moves on, so a crash between the
two repeats the same keys, which delivery drops.

A PMP that fails or is slow is retried later with a growing delay; each workspace's read has
its own deadline and its own pooled client, so one PMP never holds up another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from bot.pmp import PmpClient, PmpError, PmpNotFoundError
from bot.pmp.listing import ListDigest, stream_rows
from bot.pmp.models import Customer, Lead, Milestone, PmpRecord, Project, Ticket
from bot.pmp_pool import PmpClientPool, WorkspaceKey, background_calls
from bot.storage.fingerprints import (
    FINGERPRINT_SEPARATOR,
    Fingerprint,
    FingerprintStore,
    FingerprintWrite,
)
from bot.storage.subscriptions import SubscriptionKind, SubscriptionStore
from bot.storage.workspaces import WorkspaceStore
from bot.subscriptions.events import (
    KIND_OF_SUBSCRIPTION,
    EventName,
    PmpEvent,
    RecordKind,
)

__all__ = [
    "CATCH_UP_INTERVAL_SECONDS",
    "FIELD_EVENTS",
    "POLL_TIMEOUT_SECONDS",
    "WATCHES",
    "Accept",
    "ChangeDetector",
    "Observed",
    "PollResult",
    "Poller",
    "Watch",
    "WebhookRegistrar",
    "events_between",
    "observe",
]

logger = logging.getLogger(__name__)

# How long one workspace's whole read may take (every list it watches).
POLL_TIMEOUT_SECONDS = 60.0
# A PMP with a working webhook is still read whole this often, for deliveries it missed.
CATCH_UP_INTERVAL_SECONDS = 15 * 60
# After failures the next read waits interval * 2**failures, at most this long.
MAX_BACKOFF_SECONDS = 30 * 60
# Each interval is stretched or shortened by up to this share, so reads spread out.
JITTER = 0.1
# Records of one burst of deliveries asked of PMP at the same time at most.
_LOOKS_AT_ONCE = 16
# Changed records are turned into events and written this many at a time, so a list where
# every record changed (a long outage) is never held whole.
_BATCH = 200
# Workspaces x kinds whose last list answer is remembered (a digest each) at most.
_LAST_READS_KEPT = 100_000


@dataclass(frozen=True, slots=True)
class Watch:
    """How one record kind is read and compared.

    ``fields``: the wire fields whose change makes an event (in this order in a fingerprint);
    ``context``: fields subscription filters read, kept so that a deleted record's event still
    reaches the right channels.
    """

    kind: RecordKind
    path: str
    id_key: str
    fields: tuple[str, ...]
    label_key: str
    context: tuple[str, ...]
    model: type[PmpRecord]


WATCHES: Mapping[RecordKind, Watch] = {
    "ticket": Watch(
        "ticket",
        "tickets",
        "ticketid",
        ("status", "priority", "assigned", "lastreply"),
        "subject",
        ("department", "status", "priority", "userid", "project_id"),
        Ticket,
    ),
    "lead": Watch("lead", "leads", "id", ("status",), "name", ("client_id",), Lead),
    "project": Watch("project", "projects", "id", ("status",), "name", ("clientid",), Project),
    # "overdue" is not a PMP field: it is worked out when the list is read (see observe).
    "milestone": Watch(
        "milestone",
        "milestones",
        "id",
        ("due_date", "overdue"),
        "name",
        ("project_id",),
        Milestone,
    ),
    "customer": Watch("customer", "customers", "userid", (), "company", (), Customer),
}

# The event a watched field's change makes.
FIELD_EVENTS: Mapping[str, EventName] = {
    "status": "status",
    "priority": "priority",
    "assigned": "assignee",
    "lastreply": "reply",
    "due_date": "due_date",
    "overdue": "overdue",
}

_NO_DATES = ("", "0000-00-00", "0000-00-00 00:00:00")

Accept = Callable[[Sequence[PmpEvent]], Awaitable[int]]
"""Delivery's ``accept``: keeps events (a repeated key dropped); how many were new."""


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    text = str(value).strip()
    return "" if text in _NO_DATES else text


def _record_id(value: Any) -> int | None:
    text = _text(value)
    return int(text) if text.isdigit() and int(text) > 0 else None


def _is_overdue(row: Mapping[str, Any], today: date) -> bool:
    """A milestone whose due date has passed while some of its tasks are open (or it has
    none: nothing says it was reached)."""
    due = _text(row.get("due_date"))[:10]
    if len(due) != 10 or due >= today.isoformat():
        return False
    total = _record_id(row.get("total_tasks")) or 0
    finished = _record_id(row.get("total_finished_tasks")) or 0
    return total == 0 or finished < total


def watched_values(watch: Watch, row: Mapping[str, Any], today: date) -> tuple[str, ...]:
    """The fingerprint of a row: its watched fields, compactly, in ``watch.fields`` order."""
    if watch.kind == "milestone":
        return (_text(row.get("due_date"))[:10], "1" if _is_overdue(row, today) else "0")
    return tuple(_text(row.get(name)) for name in watch.fields)


@dataclass(frozen=True, slots=True)
class Observed:
    """A record as PMP has it now: its fingerprint, label, filter context and fields."""

    record_id: int
    watched: tuple[str, ...]
    label: str
    context: Mapping[str, str]
    record: Mapping[str, str | None]


def _record_fields(watch: Watch, row: Mapping[str, Any]) -> dict[str, str | None]:
    """The row's scalar fields without any secret (the model's edge drops them)."""
    try:
        raw = watch.model.from_wire(row).raw
    except ValueError:
        raw = {}
    return {
        str(key): (None if value is None else str(value))
        for key, value in raw.items()
        if not isinstance(value, dict | list)
    }


def _context_of(watch: Watch, row: Mapping[str, Any]) -> dict[str, str]:
    return {name: value for name in watch.context if (value := _text(row.get(name)))}


def observe(watch: Watch, row: Mapping[str, Any], today: date) -> Observed | None:
    """A row of PMP's list (or one record) as the sources compare it; None without an id."""
    record_id = _record_id(row.get(watch.id_key))
    if record_id is None:
        return None
    record = _record_fields(watch, row)
    if watch.kind == "milestone":
        record["overdue"] = "1" if _is_overdue(row, today) else "0"
    return Observed(
        record_id=record_id,
        watched=watched_values(watch, row, today),
        label=_text(row.get(watch.label_key)),
        context=_context_of(watch, row),
        record=record,
    )


def events_between(
    watch: Watch, before: tuple[str, ...] | None, after: tuple[str, ...] | None
) -> list[tuple[EventName, dict[str, tuple[str | None, str | None]]]]:
    """The events a record's change makes: created, deleted, or one per watched field that
    changed (a ticket's reply only when there is a new last reply, a milestone's overdue only
    when it becomes overdue)."""
    if before is None and after is None:
        return []
    if before is None:
        return [("created", {})]
    if after is None:
        return [("deleted", {})]
    found: list[tuple[EventName, dict[str, tuple[str | None, str | None]]]] = []
    for name, old, new in zip(watch.fields, before, after, strict=False):
        if old == new:
            continue
        if name == "lastreply" and not new:
            continue
        if name == "overdue" and new != "1":
            continue
        found.append((FIELD_EVENTS[name], {name: (old or None, new or None)}))
    return found


@dataclass(frozen=True, slots=True)
class _Change:
    before: Fingerprint | None
    now: Observed | None


@dataclass(frozen=True, slots=True)
class PollResult:
    """One read of one list: how many rows, how many events were new, whether it was the
    baseline."""

    kind: RecordKind
    rows: int
    events: int
    baseline: bool


@dataclass(frozen=True, slots=True)
class _LastRead:
    """A list answer compared in full that made no events and wrote nothing: its digest, the
    day it was compared on, the stored fingerprints' summary then and how many rows it had."""

    digest: bytes
    today: date
    state: tuple[int, int]
    rows: int


async def _chain(
    first: dict[str, Any] | None, rest: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[dict[str, Any]]:
    if first is None:
        return
    yield first
    async for row in rest:
        yield row


def _is_gone(fingerprint: Fingerprint | None) -> bool:
    return fingerprint is None or fingerprint.watched is None


class ChangeDetector:
    """Turns what PMP has now into events against the stored fingerprints."""

    def __init__(
        self,
        fingerprints: FingerprintStore,
        accept: Accept,
        *,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._fingerprints = fingerprints
        self._accept = accept
        self._today = today
        self._now = now
        # One read of a workspace's whole lists at a time in this process.
        self._locks: dict[tuple[str, str | None], asyncio.Lock] = {}
        # Per record looked at: its lock and how many hold or await it.
        self._record_locks: dict[tuple[str, str, str, int], list[Any]] = {}
        # Per workspace and kind: the list answer last compared in full that changed nothing.
        self._last_reads: dict[tuple[str, str | None, RecordKind], _LastRead] = {}

    def _remember(self, key: tuple[str, str | None, RecordKind], read: _LastRead) -> None:
        if len(self._last_reads) >= _LAST_READS_KEPT:
            self._last_reads.clear()
        self._last_reads[key] = read

    @contextlib.asynccontextmanager
    async def _record_lock(self, key: tuple[str, str, str, int]) -> AsyncIterator[None]:
        """Held while one record is looked at; forgotten once nobody holds or awaits it."""
        entry = self._record_locks.get(key)
        if entry is None:
            entry = self._record_locks[key] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._record_locks[key]

    def _lock(self, team_id: str, enterprise_id: str | None) -> asyncio.Lock:
        key = (team_id, enterprise_id)
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) > 100_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def poll(
        self,
        team_id: str,
        enterprise_id: str | None,
        client: PmpClient,
        kind: RecordKind,
        *,
        timeout: float | None = None,
    ) -> PollResult:
        """Read the kind's whole list once and make the events of what changed since the
        last read (none on the first: that records the baseline)."""
        async with self._lock(team_id, enterprise_id):
            return await self._poll(team_id, enterprise_id, client, kind, timeout=timeout)

    async def _poll(
        self,
        team_id: str,
        enterprise_id: str | None,
        client: PmpClient,
        kind: RecordKind,
        *,
        timeout: float | None,
    ) -> PollResult:
        watch = WATCHES[kind]
        store = self._fingerprints
        today = self._today()
        key = (team_id, enterprise_id, kind)
        # An answer the same as the one this process last compared in full, with no
        # fingerprint written since and on the same day (a milestone's overdue), would make
        # no events: it isn't parsed and the fingerprints aren't read.
        baseline_at, state = await store.list_state(team_id, enterprise_id, kind)
        last = self._last_reads.pop(key, None)
        same = last is not None and last.today == today and last.state == state
        digest = ListDigest(known=last.digest if last is not None and same else None)
        rows = aiter(
            stream_rows(client, watch.path, noun=watch.kind, timeout=timeout, digest=digest)
        )
        first = await anext(rows, None)
        if digest.unchanged and last is not None and baseline_at is not None:
            self._remember(key, last)
            return PollResult(kind, last.rows, 0, baseline=False)
        rows = _chain(first, rows)
        baseline_at, stored = await store.load_watched(team_id, enterprise_id, kind)
        if baseline_at is None:
            baseline: list[tuple[int, tuple[str, ...], str, Mapping[str, str]]] = []
            async for row in rows:
                record_id = _record_id(row.get(watch.id_key))
                if record_id is not None:
                    # Only what is kept: the record's fields are read for events alone.
                    baseline.append(
                        (
                            record_id,
                            watched_values(watch, row, today),
                            _text(row.get(watch.label_key)),
                            _context_of(watch, row),
                        )
                    )
            await store.record_baseline(team_id, enterprise_id, kind, baseline)
            return PollResult(kind, len(baseline), 0, baseline=True)
        # Each row's watched values are compared, joined, with the stored text: a row that
        # didn't change costs no more than that; only changed records' whole fingerprints are
        # read, and nothing is written when nothing changed.
        join = FINGERPRINT_SEPARATOR.join
        seen: set[int] = set()
        changed: dict[int, Observed | None] = {}
        accepted = 0
        count = 0
        wrote = False
        async for row in rows:
            record_id = _record_id(row.get(watch.id_key))
            if record_id is None:
                continue
            count += 1
            seen.add(record_id)
            if stored.get(record_id) == join(watched_values(watch, row, today)):
                continue
            now = observe(watch, row, today)
            if now is None:
                continue
            changed[record_id] = now
            if len(changed) >= _BATCH:
                accepted += await self._apply_read(team_id, enterprise_id, watch, changed)
                changed, wrote = {}, True
        for record_id, text in stored.items():
            if text is not None and record_id not in seen:
                changed[record_id] = None
                if len(changed) >= _BATCH:
                    accepted += await self._apply_read(team_id, enterprise_id, watch, changed)
                    changed, wrote = {}, True
        if changed:
            accepted += await self._apply_read(team_id, enterprise_id, watch, changed)
        elif accepted == 0 and not wrote and digest.value is not None:
            self._remember(key, _LastRead(digest.value, today, state, count))
        return PollResult(kind, count, accepted, baseline=False)

    async def _apply_read(
        self,
        team_id: str,
        enterprise_id: str | None,
        watch: Watch,
        changed: Mapping[int, Observed | None],
    ) -> int:
        """The events of records a whole read found changed (None: missing from the list),
        against their whole fingerprints read now (a webhook's look may have moved one on
        since the list's fingerprints were read: then it is compared with that)."""
        stored = await self._fingerprints.get_many(
            team_id, enterprise_id, watch.kind, list(changed)
        )
        changes: list[_Change] = []
        for record_id, now in changed.items():
            before = stored.get(record_id)
            if now is None:
                if not _is_gone(before):
                    changes.append(_Change(before, None))
            elif before is None or before.watched != now.watched:
                changes.append(_Change(before, now))
        return await self._apply(team_id, enterprise_id, watch, changes) if changes else 0

    async def look(
        self,
        team_id: str,
        enterprise_id: str | None,
        client: PmpClient,
        kind: RecordKind,
        record_id: int,
        *,
        created: bool = False,
        timeout: float | None = None,
    ) -> int:
        """Look at one record now (a webhook delivery or the bot's own change named it) and
        make the events of what changed; how many were new. Before the kind's baseline a
        record is only remembered, unless ``created`` says it is new. PmpError when PMP
        couldn't say."""
        events, failed = await self.look_many(
            team_id, enterprise_id, client, [(kind, record_id, created)], timeout=timeout
        )
        if failed:
            raise failed[0][2]
        return events

    async def look_many(
        self,
        team_id: str,
        enterprise_id: str | None,
        client: PmpClient,
        records: Sequence[tuple[RecordKind, int, bool]],
        *,
        timeout: float | None = None,
    ) -> tuple[int, list[tuple[RecordKind, int, PmpError]]]:
        """``look`` at many records of one workspace together: PMP asked for them side by
        side, their fingerprints read and written and their events accepted once per kind
        (so a burst of deliveries costs a few database writes, not a few per record).
        How many events were new, and the records PMP couldn't tell about (with why)."""
        # Looks at different records run side by side; looks at one record take turns, so
        # an answer PMP gave before a change is never compared after it was recorded (one
        # racing a whole read is one event anyway: both name it by the same revision).
        keys = sorted(
            {(team_id, enterprise_id or "", kind, record_id) for kind, record_id, _ in records}
        )
        async with contextlib.AsyncExitStack() as held:
            for key in keys:
                await held.enter_async_context(self._record_lock(key))
            return await self._look_many(team_id, enterprise_id, client, records, timeout)

    async def _look_many(
        self,
        team_id: str,
        enterprise_id: str | None,
        client: PmpClient,
        records: Sequence[tuple[RecordKind, int, bool]],
        timeout: float | None,
    ) -> tuple[int, list[tuple[RecordKind, int, PmpError]]]:
        wanted: dict[RecordKind, dict[int, bool]] = {}
        for kind, record_id, created in records:
            ids = wanted.setdefault(kind, {})
            ids[record_id] = ids.get(record_id, False) or created
        today = self._today()
        ask = asyncio.Semaphore(_LOOKS_AT_ONCE)
        failed: list[tuple[RecordKind, int, PmpError]] = []
        accepted = 0

        async def read(kind: RecordKind, record_id: int) -> tuple[int, Observed | None] | None:
            async with ask:
                try:
                    record = await client.resource(kind).get(record_id, timeout=timeout)
                except PmpNotFoundError:
                    return record_id, None
                except PmpError as error:
                    failed.append((kind, record_id, error))
                    return None
            return record_id, observe(WATCHES[kind], record.raw, today)

        for kind, ids in wanted.items():
            watch = WATCHES[kind]
            store = self._fingerprints
            found = await asyncio.gather(*(read(kind, record_id) for record_id in ids))
            stored = await store.get_many(team_id, enterprise_id, kind, list(ids))
            changes: list[_Change] = []
            unseen: list[Observed] = []
            for item in found:
                if item is None:
                    continue
                record_id, now = item
                before = stored.get(record_id)
                if now is None and _is_gone(before):
                    continue
                if before is not None and now is not None and before.watched == now.watched:
                    continue
                if before is None and now is not None and not ids[record_id]:
                    unseen.append(now)
                    continue
                changes.append(_Change(before, now))
            if unseen:
                if await store.baseline_at(team_id, enterprise_id, kind) is None:
                    # Before the first read of the kind: remembered, no events.
                    writes = [
                        FingerprintWrite(now.record_id, now.watched, now.label, 0, now.context)
                        for now in unseen
                    ]
                    await store.compare_and_set(team_id, enterprise_id, kind, writes)
                else:
                    changes += [_Change(None, now) for now in unseen]
            if changes:
                accepted += await self._apply(team_id, enterprise_id, watch, changes)
        return accepted, failed

    async def forget(
        self, team_id: str, enterprise_id: str | None, kinds: Iterable[RecordKind] | None = None
    ) -> None:
        """Forget what was seen of the workspace's PMP (it was disconnected), or of
        ``kinds`` (nothing subscribes to them any more): the next read of them is a
        baseline again, so a later subscription hears of changes made from then on only."""
        chosen = None if kinds is None else set(kinds)
        self._last_reads = {
            key: read
            for key, read in self._last_reads.items()
            if key[:2] != (team_id, enterprise_id) or (chosen is not None and key[2] not in chosen)
        }
        await self._fingerprints.forget(team_id, enterprise_id, chosen)

    async def kinds_kept(self, team_id: str, enterprise_id: str | None) -> set[str]:
        """The kinds whose records are remembered for the workspace."""
        return await self._fingerprints.kinds_kept(team_id, enterprise_id)

    async def _apply(
        self, team_id: str, enterprise_id: str | None, watch: Watch, changes: Iterable[_Change]
    ) -> int:
        """Accept the changes' events, then move their fingerprints on."""
        events: list[PmpEvent] = []
        writes: list[FingerprintWrite] = []
        occurred = self._now()
        for change in changes:
            before, now = change.before, change.now
            old = None if before is None else before.watched
            new = None if now is None else now.watched
            revision = (0 if before is None else before.revision) + 1
            record: Mapping[str, str | None]
            if now is not None:
                record_id, record = now.record_id, now.record
            elif before is not None:
                record_id = before.record_id
                record = {
                    **before.context,
                    watch.id_key: str(record_id),
                    watch.label_key: before.label,
                }
            else:
                continue
            for event, field_changes in events_between(watch, old, new):
                events.append(
                    PmpEvent(
                        team_id=team_id,
                        enterprise_id=enterprise_id,
                        kind=watch.kind,
                        record_id=record_id,
                        event=event,
                        # The record's revision names the change: two sources (or two
                        # instances) that saw it from the same fingerprint make one event.
                        key=f"{watch.kind}:{record_id}:{revision}:{event}",
                        changes=field_changes,
                        record=record,
                        occurred_at=occurred,
                    )
                )
            writes.append(
                FingerprintWrite(
                    record_id=record_id,
                    watched=new,
                    label=now.label if now is not None else (before.label if before else ""),
                    expected_revision=0 if before is None else before.revision,
                    context=now.context if now is not None else (before.context if before else {}),
                )
            )
        accepted = await self._accept(events) if events else 0
        await self._fingerprints.compare_and_set(team_id, enterprise_id, watch.kind, writes)
        return accepted


class WebhookRegistrar(Protocol):
    """The webhook side, as the poller needs it (bot.subscriptions.webhooks.WebhookSource)."""

    async def ensure(
        self,
        team_id: str,
        enterprise_id: str | None,
        client: PmpClient,
        kinds: Sequence[RecordKind],
        credentials_version: int,
    ) -> bool:
        """True when PMP sends this workspace's events by webhook (registered now or
        before); False when it can't (2.x, no public address, PMP refused)."""
        ...

    async def registered(self, team_id: str, enterprise_id: str | None) -> bool:
        """Whether the workspace has a webhook address (registered in PMP or on its way)."""
        ...

    async def forget(
        self, team_id: str, enterprise_id: str | None, client: PmpClient | None
    ) -> None:
        """The workspace's webhook removed from PMP (nothing it sends is wanted now)."""
        ...


@dataclass
class Poller:
    """Reads each workspace's watched lists on its interval: ``poll_workspace`` is the job
    the runner calls (one at a time per workspace) and returns when to call it again."""

    workspaces: WorkspaceStore
    subscriptions: SubscriptionStore
    pmp_pool: PmpClientPool
    detector: ChangeDetector
    registrar: WebhookRegistrar | None = None
    poll_timeout: float = POLL_TIMEOUT_SECONDS
    catch_up_interval: float = CATCH_UP_INTERVAL_SECONDS
    random: Callable[[], float] = random.random
    _failures: dict[WorkspaceKey, int] = field(default_factory=dict)
    _reading: dict[WorkspaceKey, asyncio.Lock] = field(default_factory=dict)

    async def kinds_of(self, team_id: str) -> list[RecordKind]:
        """The record kinds the workspace's active subscriptions watch."""
        kinds: dict[RecordKind, None] = {}
        for subscription in await self.subscriptions.list_for_team(team_id):
            record_kind = KIND_OF_SUBSCRIPTION.get(subscription.kind)
            if subscription.active and record_kind is not None:
                kinds[record_kind] = None
        return list(kinds)

    def _jittered(self, seconds: float) -> float:
        return seconds * (1 - JITTER + 2 * JITTER * self.random())

    async def poll_workspace(self, team_id: str, enterprise_id: str | None) -> float | None:
        """Read the workspace's watched lists once; seconds until the next read (jittered,
        longer after failures), or None when there is nothing to read (not connected, no
        subscriptions). Never raises for a PMP's failure.

        One read of a workspace at a time in this process (the job runner's lock keeps
        instances apart): a read asked for while one runs (a new subscription, the console)
        waits for it, so PMP 3.x never gets the workspace's webhook registered twice."""
        key = WorkspaceKey(team_id=team_id, enterprise_id=enterprise_id)
        lock = self._reading.setdefault(key, asyncio.Lock())
        async with lock:
            return await self._poll_workspace(team_id, enterprise_id)

    async def _poll_workspace(self, team_id: str, enterprise_id: str | None) -> float | None:
        key = WorkspaceKey(team_id=team_id, enterprise_id=enterprise_id)
        workspace = await self.workspaces.get(team_id, enterprise_id)
        if workspace is None or not workspace.is_connected:
            self._failures.pop(key, None)
            return None
        kinds = await self.kinds_of(team_id)
        if not kinds:
            self._failures.pop(key, None)
            await self._retire(key, workspace.credentials_version)
            return None
        unwatched = await self.detector.kinds_kept(team_id, enterprise_id) - set(kinds)
        if unwatched:
            # Nothing subscribes to these now: what was seen of them would be stale when a
            # channel subscribes again (its first read is then a new baseline).
            await self.detector.forget(
                team_id, enterprise_id, [k for k in WATCHES if k in unwatched]
            )
        interval = float(workspace.poll_interval_seconds)
        started = time.monotonic()
        try:
            # A background read: its successes are written down every few minutes, not each.
            with background_calls():
                async with asyncio.timeout(self.poll_timeout):
                    client = await self.pmp_pool.client_for(key, workspace.credentials_version)
                    if client is None:
                        return None
                    if self.registrar is not None and await self.registrar.ensure(
                        team_id, enterprise_id, client, kinds, workspace.credentials_version
                    ):
                        interval = max(interval, self.catch_up_interval)
                    results = [
                        await self.detector.poll(team_id, enterprise_id, client, kind)
                        for kind in kinds
                    ]
        except (PmpError, TimeoutError) as error:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            delay = min(interval * 2**failures, MAX_BACKOFF_SECONDS)
            logger.info(
                "Polling PMP for workspace %s failed (%s, %d in a row); next try in %.0f s",
                team_id,
                "no answer in time" if isinstance(error, TimeoutError) else type(error).__name__,
                failures,
                delay,
            )
            return self._jittered(delay)
        self._failures.pop(key, None)
        logger.debug(
            "Polled workspace %s in %.0f ms: %s",
            team_id,
            (time.monotonic() - started) * 1000,
            ", ".join(f"{r.kind} {r.rows} rows {r.events} new" for r in results),
        )
        return self._jittered(interval)

    async def _retire(self, key: WorkspaceKey, credentials_version: int) -> None:
        """The workspace's last subscription went: its webhook leaves PMP and what was seen
        of its records is forgotten (a later subscription starts from a new baseline)."""
        team_id, enterprise_id = key.team_id, key.enterprise_id
        if not await self.detector.kinds_kept(team_id, enterprise_id) and (
            self.registrar is None or not await self.registrar.registered(team_id, enterprise_id)
        ):
            return
        client = await self.pmp_pool.client_for(key, credentials_version)
        if self.registrar is not None and client is not None:
            await self.registrar.forget(team_id, enterprise_id, client)
        await self.detector.forget(team_id, enterprise_id)
        logger.info("Workspace %s has no subscriptions left: its watch on PMP ended", team_id)

    def failures(self, team_id: str, enterprise_id: str | None) -> int:
        """How many reads of the workspace failed in a row (0 after one that worked)."""
        return self._failures.get(WorkspaceKey(team_id=team_id, enterprise_id=enterprise_id), 0)

    async def teams(self) -> list[tuple[str, str | None]]:
        """Every workspace with a subscription that needs PMP read."""
        watched: list[SubscriptionKind] = list(KIND_OF_SUBSCRIPTION)
        return await self.subscriptions.teams_with(watched)

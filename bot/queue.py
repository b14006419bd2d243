"""My queue, for the Home tab: the tickets assigned to the user's PMP staff account (open
first) and the milestones due within a week or overdue on projects they are a member of.

Three PMP lists asked at once (tickets, milestones, projects), each given a time budget: a
part PMP doesn't answer in time is left out with a note, the rest is shown. Of the tickets,
read row by row as they arrive, only those assigned to someone are kept, without messages.
The lists are kept a short while per workspace (`QueueLists`) and asked once for everyone
opening Home at the same time; a ticket action forgets them. PMP's API says who is on a
project only when its project rows carry their members (`project_members` or `members`);
when they don't, milestones of every project are shown, and the queue says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeVar

from bot.names import NameBook
from bot.pmp import Milestone, PmpClient, PmpError, PmpRecord, Project, Ticket
from bot.pmp.listing import stream_rows
from bot.ticket_actions import closed_status, reply_supported

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The Home tab holds 100 blocks: a ticket takes 3 (line, controls, divider), a milestone 1.
MOST_TICKETS = 15
MOST_MILESTONES = 10
DUE_WITHIN = timedelta(days=7)
# PMP's answers are waited for this long; the Home tab is published with what came.
QUEUE_BUDGET_S = 2.5

SLOW = "PMP didn't answer in time"
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class DueMilestone:
    milestone: Milestone
    project_name: str | None
    overdue: bool


@dataclass(frozen=True)
class MyQueue:
    """What the Home tab's queue shows. `tickets_total` and `milestones_total` count all
    found (only the first few are in the lists); `notes` say what is missing and why."""

    tickets: Sequence[Ticket] = ()
    tickets_total: int = 0
    milestones: Sequence[DueMilestone] = ()
    milestones_total: int = 0
    all_projects: bool = False  # PMP doesn't say who is on a project: every project's
    can_reply: bool = False
    notes: Sequence[str] = field(default_factory=tuple)


async def _within(call: Awaitable[T], budget_s: float, what: str) -> tuple[T | None, str | None]:
    try:
        return await asyncio.wait_for(call, budget_s), None
    except TimeoutError:
        return None, f"{SLOW}, so your {what} aren't shown. Open Home again in a moment."
    except PmpError as error:
        logger.info("My queue: reading %s failed: %s", what, type(error).__name__)
        return None, f"Your {what} couldn't be read: {error.user_message}"


def _members(project: Project) -> set[int] | None:
    """The staff ids on a project when PMP's row names them, else None."""
    for key in ("project_members", "members"):
        value: Any = project.raw.get(key)
        if not isinstance(value, list):
            continue
        ids: set[int] = set()
        for entry in value:
            raw = (
                (entry.get("staff_id") or entry.get("staffid"))
                if isinstance(entry, dict)
                else entry
            )
            if str(raw).isdigit():
                ids.add(int(str(raw)))
        return ids
    return None


def my_tickets(tickets: Iterable[Ticket], staff_id: int, names: NameBook) -> list[Ticket]:
    """The tickets assigned to `staff_id`: open ones first, each part newest first."""
    closed = closed_status(names)
    mine = [ticket for ticket in tickets if ticket.assigned == staff_id]
    return sorted(
        mine,
        key=lambda t: (t.status == closed, -(t.lastreply or t.date or _EPOCH).timestamp(), -t.id),
    )


def due_milestones(
    milestones: Iterable[Milestone],
    projects: Sequence[Project] | None,
    staff_id: int,
    today: date,
) -> tuple[list[DueMilestone], bool]:
    """Milestones due by a week from `today` (overdue ones first, soonest first), on the
    staff member's projects; and whether every project's are shown (PMP doesn't say who is
    on a project, or its projects couldn't be read)."""
    names: Mapping[int, str] = {p.id: p.display_name for p in projects or ()}
    memberships = {p.id: _members(p) for p in projects or ()}
    known = bool(memberships) and all(m is not None for m in memberships.values())
    due: list[DueMilestone] = []
    for milestone in milestones:
        if milestone.due_date is None or milestone.due_date > today + DUE_WITHIN:
            continue
        if milestone.total_tasks and milestone.total_finished_tasks == milestone.total_tasks:
            continue  # every task done: nothing is due any more
        if known and staff_id not in (memberships.get(milestone.project_id or 0) or set()):
            continue
        project_name = names.get(milestone.project_id or 0)
        due.append(DueMilestone(milestone, project_name, overdue=milestone.due_date < today))
    due.sort(key=lambda d: (d.milestone.due_date or today, d.milestone.id))
    return due, not known


ListKind = Literal["ticket", "milestone", "project"]
# How long PMP's lists are reused for the queues of one workspace, and for how many
# workspaces at most (the least recently used go first).
LISTS_TTL_S = 30.0
MOST_WORKSPACES = 64


class QueueLists:
    """PMP's ticket, milestone and project lists for the queues of a workspace: kept for
    `ttl_s`, and asked once for users opening Home together (they await the same request)."""

    def __init__(
        self,
        *,
        ttl_s: float = LISTS_TTL_S,
        most_workspaces: int = MOST_WORKSPACES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._most = most_workspaces
        self._clock = clock
        self._kept: OrderedDict[str, dict[ListKind, tuple[float, asyncio.Task[list[Any]]]]] = (
            OrderedDict()
        )
        self._site: dict[str, str] = {}

    def forget(self, scope: str) -> None:
        """Drops the workspace's lists (a record changed): the next Home asks PMP again."""
        self._kept.pop(scope, None)
        self._site.pop(scope, None)

    async def get(self, pmp: PmpClient, scope: str, kind: ListKind) -> list[Any]:
        now = self._clock()
        lists = self._kept.setdefault(scope, {})
        self._kept.move_to_end(scope)
        if lists and self._site.get(scope) != pmp.base_url:
            lists.clear()  # the workspace connected another PMP since
        self._site[scope] = pmp.base_url
        while len(self._kept) > self._most:
            gone, _ = self._kept.popitem(last=False)
            self._site.pop(gone, None)
        kept = lists.get(kind)
        if kept is not None and (now - kept[0] > self._ttl_s or _failed(kept[1])):
            kept = None
        if kept is None:
            task = asyncio.ensure_future(_read(pmp, kind))
            task.add_done_callback(_retrieve)
            kept = (now, task)
            lists[kind] = kept
        # Shielded: one user's time budget running out must not cancel the others' read.
        return await asyncio.shield(kept[1])


async def _assigned_tickets(pmp: PmpClient) -> list[Ticket]:
    """The tickets assigned to anyone, without their messages: PMP 2.0.8 answers every
    ticket at once, so the list is read row by row as it arrives and only these are kept."""
    kept: list[Ticket] = []
    async for row in stream_rows(pmp, "tickets", noun="ticket"):
        assigned = str(row.get("assigned") or "")
        if not (assigned.isdigit() and int(assigned) > 0):
            continue
        try:
            kept.append(Ticket.from_wire({k: v for k, v in row.items() if k != "message"}))
        except ValueError:
            logger.info("My queue: a ticket row PMP sent has no usable id")
    return kept


async def _read(pmp: PmpClient, kind: ListKind) -> list[Any]:
    records: list[PmpRecord]
    if kind == "ticket":
        records = list(await _assigned_tickets(pmp))
    elif kind == "milestone":
        records = list(await pmp.milestones.list())
    else:
        records = list(await pmp.projects.list())
    return records


def _failed(task: asyncio.Task[list[Any]]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _retrieve(task: asyncio.Task[list[Any]]) -> None:
    # Everyone may have stopped waiting: read the error so asyncio doesn't report it.
    if not task.cancelled():
        task.exception()


async def load_queue(
    pmp: PmpClient,
    staff_id: int,
    *,
    names: NameBook,
    today: date,
    lists: QueueLists,
    scope: str,
    budget_s: float = QUEUE_BUDGET_S,
) -> MyQueue:
    """The user's queue, in at most about `budget_s` (PMP's three lists asked at once, or
    reused from `lists` for the workspace `scope`)."""
    (
        (tickets, ticket_note),
        (milestones, milestone_note),
        (projects, _),
        can_reply,
    ) = await asyncio.gather(
        _within(lists.get(pmp, scope, "ticket"), budget_s, "tickets"),
        _within(lists.get(pmp, scope, "milestone"), budget_s, "milestones"),
        _within(lists.get(pmp, scope, "project"), budget_s, "projects"),
        _within(reply_supported(pmp), budget_s, "reply"),
    )
    mine = my_tickets(tickets or (), staff_id, names)
    due, all_projects = due_milestones(milestones or (), projects, staff_id, today)
    return MyQueue(
        tickets=tuple(mine[:MOST_TICKETS]),
        tickets_total=len(mine),
        milestones=tuple(due[:MOST_MILESTONES]),
        milestones_total=len(due),
        all_projects=all_projects,
        can_reply=bool(can_reply[0]),
        notes=tuple(note for note in (ticket_note, milestone_note) if note),
    )

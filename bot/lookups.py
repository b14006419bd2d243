"""Looking records up in PMP for Slack: searches (kept briefly for paging), one record with
what its card shows beside it, and the lists a card links to. Returns records and what names
them (`Listing`, `RecordDetails`); the builders in bot.blocks render them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bot.learned_names import LearnedNames, LearnedTicketNames, SiteNames
from bot.names import TicketSettings
from bot.pmp import (
    Contact,
    Customer,
    Milestone,
    PmpClient,
    PmpError,
    PmpRecord,
    Project,
)
from bot.pmp.links import RecordKind
from bot.result_cache import CachedResults, ResultCache

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A lead search names the statuses and sources of its rows by reading up to this many leads,
# waiting for them at most this long (the answer goes out after the ack, through the
# response_url: a moment more is better than a row of bare numbers).
LEADS_READ_TO_NAME = 5
LEAD_NAMING_WAIT_S = 1.5
# How long a ticket's card waits to learn PMP's API version (whether it offers Reply).
TICKET_VERSION_WAIT_S = 2.0


@dataclass(frozen=True)
class Listing:
    """Records to show a page of: a search's hits, or a customer's projects. `names` and
    `project_names` name what the records only give the ids of (lead statuses, sources and
    assignees; the projects of milestones) as far as pmp-bot knows them."""

    kind: RecordKind
    records: Sequence[PmpRecord]
    cache_key: str
    query: str | None = None
    scope: str | None = None
    names: SiteNames = field(default_factory=SiteNames)
    project_names: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordDetails:
    record: PmpRecord
    primary_contact: Contact | None = None
    customer_name: str | None = None
    project_name: str | None = None
    # A ticket's status, priority, department and service names seen in other ticket
    # records: on PMP 2.0.8 a ticket is read through its search, whose rows name none.
    ticket_names: TicketSettings | None = None
    # A ticket's card offers Reply: PMP has the reply endpoint (its API module 3.x).
    can_reply: bool = False

    @property
    def label(self) -> str:
        return self.record.display_name


async def _optional(call: Awaitable[T]) -> T | None:
    """A related lookup whose failure must not spoil the card it decorates."""
    try:
        return await call
    except PmpError as error:
        logger.debug("Related PMP lookup failed: %s", type(error).__name__)
        return None


def _project_names(records: Sequence[PmpRecord], projects: Sequence[Project]) -> dict[int, str]:
    """The names of the projects `records` (milestones) belong to."""
    wanted = {record.project_id for record in records if isinstance(record, Milestone)}
    return {project.id: project.display_name for project in projects if project.id in wanted}


def _note_unawaited_failure(task: asyncio.Task[CachedResults]) -> None:
    # Every caller may have stopped waiting (time budgets): read the error so asyncio
    # doesn't report it as never retrieved; callers still waiting get it themselves.
    if not task.cancelled() and task.exception() is not None:
        logger.debug("A PMP search failed: %s", type(task.exception()).__name__)


class Lookups:
    def __init__(self, cache: ResultCache) -> None:
        self._cache = cache
        # Ticket records name their department, priority, service and status, and PMP has no
        # endpoint that lists those: names seen here fill the ticket form and settings.
        self.ticket_names = LearnedTicketNames()
        # Lead statuses and sources, and staff: named in some records, only numbered in others.
        self.learned_names = LearnedNames()
        # Searches PMP is answering right now: a typeahead sends the same query from several
        # users (and keystrokes) at once, and they all wait for one PMP request.
        self._searching: dict[tuple[str, str], asyncio.Task[CachedResults]] = {}
        # Lead reads that name statuses and sources, still running after a search stopped
        # waiting for them (kept here so they are not collected before they finish).
        self._naming: set[asyncio.Task[None]] = set()

    def forget_results(self, workspace: str) -> None:
        """Drops the workspace's kept searches and lists, after a record was changed."""
        self._cache.forget_workspace(workspace)
        for pending in [k for k in self._searching if k[0] == workspace]:
            del self._searching[pending]  # later searches ask PMP afresh

    async def search(self, pmp: PmpClient, workspace: str, kind: RecordKind, query: str) -> Listing:
        key = ResultCache.key_for("search", kind, query.casefold())
        cached = self._cache.get(workspace, key)
        if cached is None:
            task = self._searching.get((workspace, key))
            if task is None:
                task = asyncio.ensure_future(self._search_pmp(pmp, workspace, kind, query, key))
                task.add_done_callback(_note_unawaited_failure)
                self._searching[(workspace, key)] = task
            # Shielded: one caller giving up (a time budget) must not cancel the others' search.
            cached = await asyncio.shield(task)
        return self._listing(pmp, kind, cached, query=query)

    def _listing(
        self,
        pmp: PmpClient,
        kind: RecordKind,
        cached: CachedResults,
        *,
        query: str | None = None,
        scope: str | None = None,
    ) -> Listing:
        return Listing(
            kind=kind,
            records=cached.records,
            cache_key=cached.key,
            query=query,
            scope=scope,
            names=self.learned_names.names(pmp.base_url),
            project_names=cached.project_names,
        )

    async def _search_pmp(
        self, pmp: PmpClient, workspace: str, kind: RecordKind, query: str, key: str
    ) -> CachedResults:
        project_names: Mapping[int, str] = {}
        try:
            if kind == "milestone":
                # Milestones carry only their project's id, and two called "Launch" can't be
                # told apart without it: the projects are listed alongside, at no extra wait.
                records, projects = await asyncio.gather(
                    pmp.resource(kind).search(query), _optional(pmp.projects.list())
                )
                project_names = _project_names(records, projects or [])
            else:
                records = await pmp.resource(kind).search(query)
            if kind == "lead":
                await self._name_leads(pmp, records)
        finally:
            current = self._searching.get((workspace, key)) is asyncio.current_task()
            if current:
                del self._searching[(workspace, key)]
        if kind == "ticket":
            self.ticket_names.learn(pmp.base_url, records)
        if kind in ("lead", "ticket"):
            self.learned_names.learn(pmp.base_url, records)
        if not current:  # the workspace's results were forgotten meanwhile: don't keep these
            return CachedResults(
                key=key,
                records=tuple(records),
                stored_at=time.monotonic(),
                project_names=project_names,
            )
        return self._cache.put(workspace, key, records, project_names=project_names)

    async def _name_leads(self, pmp: PmpClient, leads: Sequence[PmpRecord]) -> None:
        """Search rows give a lead's status and source as ids; a lead read on its own names
        them. Reads a few leads with statuses or sources nobody has named yet, waiting at
        most LEAD_NAMING_WAIT_S: reads still running name the next search's rows."""
        to_read = self.learned_names.leads_to_read(pmp.base_url, leads, most=LEADS_READ_TO_NAME)
        if not to_read:
            return

        async def read(lead_id: int) -> None:
            lead = await _optional(pmp.leads.get(lead_id))
            if lead is not None:
                self.learned_names.learn(pmp.base_url, [lead])

        tasks = {asyncio.ensure_future(read(lead_id)) for lead_id in to_read}
        self._naming |= tasks
        for task in tasks:
            task.add_done_callback(self._naming.discard)
        await asyncio.wait(tasks, timeout=LEAD_NAMING_WAIT_S)

    async def page(
        self,
        pmp: PmpClient,
        workspace: str,
        kind: RecordKind,
        *,
        query: str | None,
        cache_key: str | None,
    ) -> Listing:
        """The listing a Next / Previous button refers to (its kind, query and kept
        results' key): from memory while it is fresh, otherwise searched again (another
        instance may have served the first page)."""
        if cache_key:
            cached = self._cache.get(workspace, cache_key)
            if cached is not None:
                return self._listing(pmp, kind, cached, query=query)
        if query:
            return await self.search(pmp, workspace, kind, query)
        return Listing(kind=kind, records=(), cache_key="", query=None)

    async def customer_projects(self, pmp: PmpClient, workspace: str, customer_id: int) -> Listing:
        # PMP cannot filter projects by customer: list them all and keep this customer's.
        customer, projects = await asyncio.gather(
            _optional(pmp.customers.get(customer_id)), pmp.projects.list()
        )
        mine = [project for project in projects if project.clientid == customer_id]
        key = ResultCache.key_for("customer-projects", customer_id)
        self._cache.put(workspace, key, mine)
        scope = customer.display_name if customer else f"customer #{customer_id}"
        return Listing(kind="project", records=mine, cache_key=key, scope=scope)

    async def project_milestones(self, pmp: PmpClient, workspace: str, project_id: int) -> Listing:
        project, milestones = await asyncio.gather(
            _optional(pmp.projects.get(project_id)), pmp.milestones.list()
        )
        mine = sorted(
            (m for m in milestones if m.project_id == project_id),
            key=lambda m: (m.milestone_order or 0, m.due_date or m.datecreated or 0, m.id),
        )
        key = ResultCache.key_for("project-milestones", project_id)
        self._cache.put(workspace, key, mine)
        scope = project.display_name if project else f"project #{project_id}"
        return Listing(kind="milestone", records=mine, cache_key=key, scope=scope)

    async def details(self, pmp: PmpClient, kind: RecordKind, record_id: int) -> RecordDetails:
        """One record and what its card shows beside it (primary contact, customer or
        project name), fetched together."""
        if kind == "ticket":
            # Whether Reply can be offered: asked once per client, alongside the first read.
            ticket, version = await asyncio.gather(
                pmp.tickets.get(record_id),
                _optional(pmp.detect_api_version(timeout=TICKET_VERSION_WAIT_S)),
            )
            self.ticket_names.learn(pmp.base_url, [ticket])
            self.learned_names.learn(pmp.base_url, [ticket])
            return RecordDetails(
                ticket,
                ticket_names=self.ticket_names.names(pmp.base_url),
                can_reply=version is not None and version >= 3,
            )
        record: PmpRecord = await pmp.resource(kind).get(record_id)
        self.learned_names.learn(pmp.base_url, [record])
        if isinstance(record, Customer):
            contacts = await _optional(pmp.contacts.list(record.id))
            primary = next((c for c in contacts or [] if c.is_primary), None)
            return RecordDetails(record, primary_contact=primary)
        if isinstance(record, Project) and record.clientid:
            customer = await _optional(pmp.customers.get(record.clientid))
            return RecordDetails(record, customer_name=customer.display_name if customer else None)
        if isinstance(record, Milestone) and record.project_id:
            project = await _optional(pmp.projects.get(record.project_id))
            return RecordDetails(record, project_name=project.display_name if project else None)
        return RecordDetails(record)

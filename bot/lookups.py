"""Looking records up in PMP for Slack: searches (kept briefly for paging), one record with
what its card shows beside it, and the lists a card links to."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from bot.blocks.cards import CardRef, Message, build_record_card
from bot.blocks.names import NameBook
from bot.blocks.results import PageState
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

if TYPE_CHECKING:
    from bot.tickets import LearnedTicketNames

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Listing:
    """Records to show a page of: a search's hits, or a customer's projects."""

    kind: RecordKind
    records: Sequence[PmpRecord]
    cache_key: str
    query: str | None = None
    scope: str | None = None


@dataclass(frozen=True)
class RecordDetails:
    record: PmpRecord
    primary_contact: Contact | None = None
    customer_name: str | None = None
    project_name: str | None = None

    @property
    def label(self) -> str:
        return self.record.display_name

    def card(
        self,
        *,
        base_url: str,
        names: NameBook | None = None,
        shared_by: str | None = None,
        can_delete: bool = False,
    ) -> Message:
        """The record's card, with the related names and contact this lookup found."""
        return build_record_card(
            self.record,
            base_url=base_url,
            names=names,
            shared_by=shared_by,
            can_delete=can_delete,
            primary_contact=self.primary_contact,
            customer_name=self.customer_name,
            project_name=self.project_name,
        )


def _resource(pmp: PmpClient, kind: RecordKind) -> Any:
    return {
        "customer": pmp.customers,
        "lead": pmp.leads,
        "project": pmp.projects,
        "milestone": pmp.milestones,
        "ticket": pmp.tickets,
    }[kind]


async def _optional(call: Awaitable[T]) -> T | None:
    """A related lookup whose failure must not spoil the card it decorates."""
    try:
        return await call
    except PmpError as error:
        logger.debug("Related PMP lookup failed: %s", type(error).__name__)
        return None


def _note_unawaited_failure(task: asyncio.Task[CachedResults]) -> None:
    # Every caller may have stopped waiting (time budgets): read the error so asyncio
    # doesn't report it as never retrieved; callers still waiting get it themselves.
    if not task.cancelled() and task.exception() is not None:
        logger.debug("A PMP search failed: %s", type(task.exception()).__name__)


class Lookups:
    def __init__(self, cache: ResultCache) -> None:
        # Imported here: bot.tickets reaches this module through bot.forms.
        from bot.tickets import LearnedTicketNames

        self._cache = cache
        # Ticket records name their department, priority, service and status, and PMP has no
        # endpoint that lists those: names seen here fill the ticket form and settings.
        self.ticket_names: LearnedTicketNames = LearnedTicketNames()
        # Searches PMP is answering right now: a typeahead sends the same query from several
        # users (and keystrokes) at once, and they all wait for one PMP request.
        self._searching: dict[tuple[str, str], asyncio.Task[CachedResults]] = {}

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
        return Listing(kind=kind, records=cached.records, cache_key=key, query=query)

    async def _search_pmp(
        self, pmp: PmpClient, workspace: str, kind: RecordKind, query: str, key: str
    ) -> CachedResults:
        try:
            records = await _resource(pmp, kind).search(query)
        finally:
            current = self._searching.get((workspace, key)) is asyncio.current_task()
            if current:
                del self._searching[(workspace, key)]
        if kind == "ticket":
            self.ticket_names.learn(pmp.base_url, records)
        if not current:  # the workspace's results were forgotten meanwhile: don't keep these
            return CachedResults(key=key, records=tuple(records), stored_at=time.monotonic())
        return self._cache.put(workspace, key, records)

    async def page(self, pmp: PmpClient, workspace: str, state: PageState) -> Listing:
        """The listing a Next / Previous button refers to: from memory while it is fresh,
        otherwise searched again (another instance may have served the first page)."""
        if state.cache_key:
            cached = self._cache.get(workspace, state.cache_key)
            if cached is not None:
                return Listing(
                    kind=state.kind,
                    records=cached.records,
                    cache_key=cached.key,
                    query=state.query,
                )
        if state.query:
            return await self.search(pmp, workspace, state.kind, state.query)
        return Listing(kind=state.kind, records=(), cache_key="", query=None)

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

    async def details(self, pmp: PmpClient, ref: CardRef) -> RecordDetails:
        """One record and what its card shows beside it (primary contact, customer or
        project name), fetched together."""
        record: PmpRecord = await _resource(pmp, ref.kind).get(ref.id)
        if ref.kind == "ticket":
            self.ticket_names.learn(pmp.base_url, [record])
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

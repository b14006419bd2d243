"""Names PMP sends only inside some records, remembered to show where it sends just the id.

A lead read on its own (or listed) carries `status_name` and `source_name`; a lead in search
results carries only the ids. A ticket names the staff member answering it
(`staff_firstname`, `staff_lastname` for `admin`); a lead only has its assignee's id. Ticket
records name their department, priority, service and status (`department_name`...), except
on PMP 2.0.8, where a ticket read through the search names none. PMP has no endpoint listing
statuses, sources, staff or ticket departments, so pmp-bot keeps the names it has seen, per
PMP site (workspaces sharing one PMP share its names), in this process's memory.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from bot.names import TICKET_SETTING_KINDS, NameBook, TicketSettingKind, TicketSettings, positive_id
from bot.pmp.models import Lead, PmpRecord, Ticket

__all__ = ["LearnedNames", "LearnedTicketNames", "SiteNames"]

NameKind = Literal["lead_statuses", "lead_sources", "staff"]
_Kind = TypeVar("_Kind", NameKind, TicketSettingKind)

MAX_LEARNED_SITES = 500
# Per kind and site: far more statuses, sources or staff than a PMP install has.
MAX_NAMES_PER_KIND = 1000
NAME_MAX = 75  # fits a Slack option text, and more than a row has room for
# Ticket names fill the ticket form's menus, and a static select lists at most 100 options.
MAX_TICKET_NAMES_PER_KIND = 100


@dataclass(frozen=True, slots=True)
class SiteNames:
    """What pmp-bot knows of one PMP site's names, at one moment."""

    lead_statuses: Mapping[int, str] = field(default_factory=dict)
    lead_sources: Mapping[int, str] = field(default_factory=dict)
    staff: Mapping[int, str] = field(default_factory=dict)

    def over(self, book: NameBook) -> NameBook:
        """`book` (the workspace's own names) with these added where it has none."""
        return book.with_learned(
            lead_statuses=self.lead_statuses, lead_sources=self.lead_sources, staff=self.staff
        )


def _clean_name(*parts: Any) -> str | None:
    # PMP stores names HTML-escaped ("R&amp;D"); rows show them as typed.
    words = " ".join(html.unescape(part) for part in parts if isinstance(part, str)).split()
    return " ".join(words)[:NAME_MAX] or None


def _names_in(record: PmpRecord) -> Iterable[tuple[NameKind, int | None, str | None]]:
    if isinstance(record, Lead):
        raw = record.raw
        yield "lead_statuses", positive_id(raw.get("status")), _clean_name(raw.get("status_name"))
        yield "lead_sources", positive_id(raw.get("source")), _clean_name(raw.get("source_name"))
    elif isinstance(record, Ticket):
        raw = record.raw
        staff_name = _clean_name(raw.get("staff_firstname"), raw.get("staff_lastname"))
        yield "staff", positive_id(raw.get("admin")), staff_name


class _SiteMemory(Generic[_Kind]):
    """Names per PMP site and kind of id, in this process's memory: keyed by the site rather
    than the workspace, since the names belong to the PMP install (workspaces sharing one PMP
    share them). The least recently used sites are forgotten first."""

    def __init__(self, *, max_sites: int, max_per_kind: int) -> None:
        self._max_sites = max_sites
        self._max_per_kind = max_per_kind
        self._sites: OrderedDict[str, dict[_Kind, dict[int, str]]] = OrderedDict()

    def _remember(self, site: str, kind: _Kind, record_id: int | None, name: str | None) -> None:
        if record_id is None or name is None:
            return
        names = self._site(site).setdefault(kind, {})
        if record_id in names or len(names) < self._max_per_kind:
            names[record_id] = name

    def _known(self, site: str) -> dict[_Kind, dict[int, str]] | None:
        known = self._sites.get(site)
        if known is not None:
            self._sites.move_to_end(site)
        return known

    def _site(self, site: str) -> dict[_Kind, dict[int, str]]:
        entry = self._sites.get(site)
        if entry is None:
            entry = self._sites[site] = {}
            while len(self._sites) > self._max_sites:
                self._sites.popitem(last=False)
        self._sites.move_to_end(site)
        return entry


class LearnedNames(_SiteMemory[NameKind]):
    """Names seen in lead and ticket records: lead statuses and sources, staff."""

    def __init__(self, *, max_sites: int = MAX_LEARNED_SITES) -> None:
        super().__init__(max_sites=max_sites, max_per_kind=MAX_NAMES_PER_KIND)

    def learn(self, site: str, records: Iterable[PmpRecord]) -> None:
        for record in records:
            for kind, record_id, name in _names_in(record):
                self._remember(site, kind, record_id, name)

    def names(self, site: str) -> SiteNames:
        known = self._known(site)
        if known is None:
            return SiteNames()
        return SiteNames(
            lead_statuses=dict(known.get("lead_statuses", {})),
            lead_sources=dict(known.get("lead_sources", {})),
            staff=dict(known.get("staff", {})),
        )

    def leads_to_read(self, site: str, leads: Iterable[PmpRecord], *, most: int) -> list[int]:
        """Ids of at most `most` of `leads` whose reading would name the statuses and sources
        among `leads` that nobody has named yet."""
        known = self._sites.get(site, {})
        statuses = known.get("lead_statuses", {})
        sources = known.get("lead_sources", {})
        covered: set[tuple[str, int]] = set()
        chosen: list[int] = []
        for lead in leads:
            if len(chosen) >= most:
                break
            if not isinstance(lead, Lead):
                continue
            unnamed = {
                (kind, value)
                for kind, value, names in (
                    ("status", lead.status, statuses),
                    ("source", lead.source, sources),
                )
                if value is not None and value > 0 and value not in names
            } - covered
            if unnamed:
                chosen.append(lead.id)
                covered |= unnamed
        return chosen


_TICKET_NAME_KEYS: tuple[tuple[TicketSettingKind, str, str], ...] = (
    ("departments", "department", "department_name"),
    ("priorities", "priority", "priority_name"),
    ("services", "service", "service_name"),
    ("statuses", "status", "status_name"),
)


class LearnedTicketNames(_SiteMemory[TicketSettingKind]):
    """Names of ticket ids (departments, priorities, services, statuses) seen in ticket
    records; they fill the ticket form's menus where the workspace named none."""

    def __init__(self, *, max_sites: int = MAX_LEARNED_SITES) -> None:
        super().__init__(max_sites=max_sites, max_per_kind=MAX_TICKET_NAMES_PER_KIND)

    def learn(self, site: str, tickets: Iterable[PmpRecord]) -> None:
        for ticket in tickets:
            for kind, id_key, name_key in _TICKET_NAME_KEYS:
                record_id = positive_id(ticket.raw.get(id_key))
                self._remember(site, kind, record_id, _clean_name(ticket.raw.get(name_key)))

    def names(self, site: str) -> TicketSettings:
        known = self._known(site)
        if known is None:
            return TicketSettings()
        return TicketSettings(**{kind: dict(known.get(kind, {})) for kind in TICKET_SETTING_KINDS})

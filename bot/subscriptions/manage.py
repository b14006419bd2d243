"""Managing a channel's subscriptions from Slack: who may, which filters fit which kind, turning
the names people type (`department:Support`, `customer:"Acme"`) into PMP ids, and the
subscribe / unsubscribe / edit steps on the store.

PMP has no endpoint listing ticket departments, priorities or statuses: their names come from
the workspace's `/pmp settings`, then names learned from PMP's tickets, then a fresh install's.
Customers and projects are looked up in PMP (a number is checked, a name searched).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from bot.grammar import FILTER_KEYS, FilterKey, FilterTerm, SubscriptionRequest
from bot.names import DEFAULT_TICKET_PRIORITIES, DEFAULT_TICKET_STATUSES, TicketSettings
from bot.pmp import PmpClient, PmpError, PmpNotFoundError
from bot.storage.subscriptions import (
    CardStyle,
    Subscription,
    SubscriptionFilters,
    SubscriptionKind,
    SubscriptionStore,
)
from bot.text import safe

__all__ = [
    "EVENTS_OF_KIND",
    "FILTERS_OF_KIND",
    "CardStyle",
    "FilterProblem",
    "ManageRefusal",
    "NameSources",
    "ResolvedFilters",
    "SubscribeOutcome",
    "Subscription",
    "SubscriptionFilters",
    "SubscriptionKind",
    "filter_labels",
    "filters_of",
    "may_manage",
    "name_sources",
    "resolve_filters",
    "subscribe",
    "unsubscribe",
    "update_subscription",
    "with_records",
]

logger = logging.getLogger(__name__)

# Which filters each kind can use: the fields its PMP records carry (bot.subscriptions.delivery
# matches them). A filter a kind's records don't have would silence the subscription.
FILTERS_OF_KIND: Mapping[SubscriptionKind, tuple[FilterKey, ...]] = {
    "tickets": ("department", "priority", "status", "customer", "project"),
    "projects": ("customer", "project"),
    "milestones": ("project",),
    "customers": ("customer",),
    "leads": (),
    "lookups": (),
}

# What each kind posts, in the words of a reply ("#support gets new tickets, ...").
EVENTS_OF_KIND: Mapping[SubscriptionKind, str] = {
    "tickets": "new tickets, their status, priority and assignee changes, and replies",
    "leads": "new leads and their status changes",
    "projects": "new projects and their status changes",
    "milestones": "new milestones, due date changes and overdue milestones",
    "customers": "new customers",
    "lookups": "a note when someone looks up or changes a record from Slack",
}

# A name search in PMP for a filter waits this long at most (a view submission's answer is
# its ack, so this keeps room inside Slack's 3 seconds).
LOOKUP_BUDGET_S = 1.8
# Names quoted in a problem are cut here (a reply stays short).
NAME_SHOWN = 60
# How many matching records a "which one?" answer names.
MAX_CANDIDATES = 5

ManageRefusal = Literal["admins_only", "not_a_member"]


def may_manage(
    *, is_admin: bool, members_may_subscribe: bool, is_member: bool | None
) -> ManageRefusal | None:
    """None when the user may change the channel's subscriptions: admins always; anyone in
    the channel when the workspace allows it (`is_member` None: not checked)."""
    if is_admin:
        return None
    if members_may_subscribe and is_member:
        return None
    return "not_a_member" if members_may_subscribe else "admins_only"


# ------------------------------------------------------------------------------- names


@dataclass(frozen=True)
class NameSources:
    """The names ticket filters are resolved against and shown with, per workspace."""

    departments: Mapping[int, str] = field(default_factory=dict)
    priorities: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_TICKET_PRIORITIES))
    statuses: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_TICKET_STATUSES))
    # Customers and projects that filters name, read from PMP (`with_records`).
    customers: Mapping[int, str] = field(default_factory=dict)
    projects: Mapping[int, str] = field(default_factory=dict)

    def of(self, key: FilterKey) -> Mapping[int, str]:
        if key == "department":
            return self.departments
        if key == "priority":
            return self.priorities
        if key == "status":
            return self.statuses
        if key == "customer":
            return self.customers
        return self.projects


def name_sources(saved: TicketSettings, learned: TicketSettings) -> NameSources:
    """The workspace's own names win over names learned from tickets, which win over a
    fresh install's."""
    return NameSources(
        departments={**learned.departments, **saved.departments},
        priorities={**DEFAULT_TICKET_PRIORITIES, **learned.priorities, **saved.priorities},
        statuses={**DEFAULT_TICKET_STATUSES, **learned.statuses, **saved.statuses},
    )


def _normal(name: str) -> str:
    return " ".join(name.replace("-", " ").replace("_", " ").casefold().split())


def _id_named(names: Mapping[int, str], typed: str) -> int | None:
    wanted = _normal(typed)
    for record_id, name in names.items():
        if _normal(name) == wanted:
            return record_id
    return None


# ------------------------------------------------------------------------------ filters


@dataclass(frozen=True)
class ResolvedFilters:
    """Filters as ids, with the label each is shown with (`Support`, `Acme Corp (#12)`)."""

    filters: SubscriptionFilters
    labels: tuple[tuple[FilterKey, str], ...] = ()


@dataclass(frozen=True)
class FilterProblem:
    """A filter that can't be used, and what to type instead. `key` None: not one filter's."""

    key: FilterKey | None
    text: str


_FIELD_OF_KEY: Mapping[FilterKey, str] = {
    "department": "department",
    "priority": "priority",
    "status": "status",
    "customer": "customer_id",
    "project": "project_id",
}


def filters_of(values: Mapping[FilterKey, int]) -> SubscriptionFilters:
    return SubscriptionFilters(**{_FIELD_OF_KEY[key]: value for key, value in values.items()})


def _ids_of(filters: SubscriptionFilters) -> dict[FilterKey, int]:
    found: dict[FilterKey, int] = {}
    for key in FILTER_KEYS:
        value = getattr(filters, _FIELD_OF_KEY[key])
        if value is not None:
            found[key] = value
    return found


def filter_labels(
    filters: SubscriptionFilters, names: NameSources
) -> tuple[tuple[FilterKey, str], ...]:
    """How stored filters read: names where known (a customer or project with its number,
    as when it was subscribed), else `#id`."""
    labels: list[tuple[FilterKey, str]] = []
    for key, value in _ids_of(filters).items():
        name = names.of(key).get(value)
        if name and key in ("customer", "project"):
            name = f"{name} (#{value})"
        labels.append((key, name if name else f"#{value}"))
    return tuple(labels)


async def with_records(
    names: NameSources,
    subscriptions: Sequence[Subscription],
    pmp: PmpClient,
    *,
    budget_s: float = LOOKUP_BUDGET_S,
) -> NameSources:
    """`names` plus the customers and projects these subscriptions filter on, as PMP names
    them; whatever PMP doesn't give within `budget_s` stays a number."""
    wanted: dict[FilterKey, set[int]] = {"customer": set(), "project": set()}
    for subscription in subscriptions:
        ids = _ids_of(subscription.filters)
        for key in wanted:
            if key in ids:
                wanted[key].add(ids[key])
    found: dict[FilterKey, dict[int, str]] = {"customer": {}, "project": {}}

    async def read(key: FilterKey, record_id: int) -> None:
        try:
            record = await pmp.resource("customer" if key == "customer" else "project").get(
                record_id
            )
        except PmpError as error:
            logger.info("A %s filter's name wasn't read: %s", key, error)
            return
        found[key][record_id] = record.display_name

    reads = [read(key, record_id) for key, ids in wanted.items() for record_id in sorted(ids)]
    if reads:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*reads), budget_s)
    return replace(
        names,
        customers={**names.customers, **found["customer"]},
        projects={**names.projects, **found["project"]},
    )


def _kind_word(kind: SubscriptionKind) -> str:
    return kind[:-1]  # "tickets" -> "ticket"


def _unusable(kind: SubscriptionKind, key: FilterKey) -> FilterProblem:
    usable = FILTERS_OF_KIND[kind]
    if usable:
        listed = ", ".join(f"`{k}:`" for k in usable)
        text = f"{kind.capitalize()} can't be filtered by {key}; they take {listed}."
    else:
        text = f"{kind.capitalize()} take no filters: leave out `{key}:`."
    return FilterProblem(key, text)


def _unknown_name(key: FilterKey, typed: str, names: Mapping[int, str]) -> FilterProblem:
    known = ", ".join(
        f"{safe(name, NAME_SHOWN)} ({record_id})" for record_id, name in sorted(names.items())[:10]
    )
    where = f" I know: {known}." if known else ""
    settings_hint = " Or name them in `/pmp settings`." if key == "department" else ""
    return FilterProblem(
        key,
        f"I don't know a {key} called “{safe(typed, NAME_SHOWN)}”.{where} Use its number, like "
        f"`{key}:2`.{settings_hint}",
    )


LearnNames = Callable[[], Awaitable[NameSources]]


async def resolve_filters(
    kind: SubscriptionKind,
    terms: Sequence[FilterTerm],
    names: NameSources,
    pmp: PmpClient | None,
    *,
    learn: LearnNames | None = None,
    budget_s: float = LOOKUP_BUDGET_S,
) -> ResolvedFilters | FilterProblem:
    """Turns typed filters into ids, checking each fits `kind`. Ticket names come from
    `names` (and, for a name nobody knows yet, from `learn`, which reads PMP's tickets);
    customers and projects from PMP. Problem texts quote names as typed; escape them."""
    values: dict[FilterKey, int] = {}
    labels: list[tuple[FilterKey, str]] = []
    for term in terms:
        if term.key not in FILTERS_OF_KIND[kind]:
            return _unusable(kind, term.key)
        if term.key in ("customer", "project"):
            found = await _record_filter(term, pmp, budget_s)
        else:
            found, names = await _named_filter(term, names, learn)
        if isinstance(found, FilterProblem):
            return found
        values[term.key], label = found
        labels.append((term.key, label))
    return ResolvedFilters(filters_of(values), tuple(labels))


async def _named_filter(
    term: FilterTerm, names: NameSources, learn: LearnNames | None
) -> tuple[tuple[int, str] | FilterProblem, NameSources]:
    if term.number is not None:
        name = names.of(term.key).get(term.number)
        return (term.number, name or f"#{term.number}"), names
    typed = term.name or ""
    found = _id_named(names.of(term.key), typed)
    if found is None and learn is not None:
        names = await learn()
        found = _id_named(names.of(term.key), typed)
    if found is None:
        return _unknown_name(term.key, typed, names.of(term.key)), names
    return (found, names.of(term.key)[found]), names


async def _record_filter(
    term: FilterTerm, pmp: PmpClient | None, budget_s: float
) -> tuple[int, str] | FilterProblem:
    key = term.key
    if pmp is None:
        if term.number is not None:
            return term.number, f"#{term.number}"
        return FilterProblem(key, f"Use the {key}'s number, like `{key}:12`.")
    resource = pmp.resource("customer" if key == "customer" else "project")
    try:
        if term.number is not None:
            record = await asyncio.wait_for(resource.get(term.number), budget_s)
            return term.number, f"{record.display_name} (#{term.number})"
        matches = await asyncio.wait_for(resource.search(term.name or ""), budget_s)
    except PmpNotFoundError:
        if term.number is None:
            return _one_match(key, term.name or "", [])
        return FilterProblem(key, f"PMP has no {key} number {term.number}. Check the number.")
    except (PmpError, TimeoutError) as error:
        if term.number is not None:
            # PMP can't confirm it now; the number is what the user meant.
            logger.info("A %s filter wasn't checked in PMP: %s", key, error)
            return term.number, f"#{term.number}"
        reason = error.user_message if isinstance(error, PmpError) else "PMP was slow to answer."
        return FilterProblem(
            key, f"I couldn't look up that {key} in PMP: {reason} Use its number, like `{key}:12`."
        )
    return _one_match(key, term.name or "", [(m.id, m.display_name) for m in matches if m.id])


def _one_match(
    key: FilterKey, typed: str, matches: list[tuple[int, str]]
) -> tuple[int, str] | FilterProblem:
    if not matches:
        return FilterProblem(
            key,
            f"No {key} in PMP matches “{safe(typed, NAME_SHOWN)}”. Check the spelling, or use "
            "its number.",
        )
    exact = [m for m in matches if _normal(m[1]) == _normal(typed)]
    chosen = exact if len(exact) == 1 else matches
    if len(chosen) == 1:
        record_id, name = chosen[0]
        return record_id, f"{name} (#{record_id})"
    listed = ", ".join(
        f"{safe(name, NAME_SHOWN)} (`{key}:{record_id}`)"
        for record_id, name in chosen[:MAX_CANDIDATES]
    )
    more = f" and {len(chosen) - MAX_CANDIDATES} more" if len(chosen) > MAX_CANDIDATES else ""
    return FilterProblem(
        key,
        f"“{safe(typed, NAME_SHOWN)}” matches {len(chosen)} {key}s: {listed}{more}. "
        "Use the number you mean.",
    )


# ------------------------------------------------------------------------------- changes


@dataclass(frozen=True)
class SubscribeOutcome:
    subscription: Subscription
    created: bool
    # An existing subscription whose options (broadcast, style) this request changed.
    changed: bool = False


async def subscribe(
    store: SubscriptionStore,
    *,
    team_id: str,
    enterprise_id: str | None,
    channel_id: str,
    request: SubscriptionRequest,
    filters: SubscriptionFilters,
    user_id: str,
) -> SubscribeOutcome:
    """Adds the subscription; the same kind and filters again keep the one there, taking
    the options this request names."""
    assert request.kind is not None
    subscription, created = await store.add(
        team_id,
        enterprise_id,
        channel_id,
        request.kind,
        filters,
        created_by=user_id,
        broadcast_status=bool(request.broadcast),
        style=request.style or "compact",
    )
    if created:
        return SubscribeOutcome(subscription, created=True)
    broadcast = request.broadcast
    style = request.style
    wants_change = (broadcast is not None and broadcast != subscription.broadcast_status) or (
        style is not None and style != subscription.style
    )
    if not wants_change:
        return SubscribeOutcome(subscription, created=False)
    updated = await store.update(team_id, subscription.id, broadcast_status=broadcast, style=style)
    return SubscribeOutcome(updated or subscription, created=False, changed=updated is not None)


async def unsubscribe(
    store: SubscriptionStore,
    *,
    team_id: str,
    channel_id: str,
    request: SubscriptionRequest,
    filters: SubscriptionFilters | None,
) -> list[Subscription]:
    """Removes what the request names: everything in the channel (`all`), every
    subscription of a kind (no filters), or the one with exactly these filters. Returns
    the subscriptions removed."""
    current = await store.list_for_channel(team_id, channel_id)
    if request.every_kind:
        chosen = current
    else:
        chosen = [
            s
            for s in current
            if s.kind == request.kind and (filters is None or s.filters == filters)
        ]
    removed = []
    for subscription in chosen:
        if await store.remove(team_id, subscription.id):
            removed.append(subscription)
    return removed


async def update_subscription(
    store: SubscriptionStore,
    team_id: str,
    subscription_id: int,
    *,
    filters: SubscriptionFilters,
    broadcast_status: bool,
    style: CardStyle,
) -> Subscription | FilterProblem | None:
    """Saves an edit; None when the subscription is gone, a problem when the channel already
    has one with these filters."""
    try:
        return await store.update(
            team_id,
            subscription_id,
            filters=filters,
            broadcast_status=broadcast_status,
            style=style,
        )
    except ValueError:
        return FilterProblem(
            None,
            "This channel already has a subscription with those filters. Change a filter, "
            "or remove this one instead.",
        )

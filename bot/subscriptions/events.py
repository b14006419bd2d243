"""What happened in PMP, as the event sources (webhooks, polling) hand it to delivery."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from bot.pmp.links import RecordKind
from bot.storage.subscriptions import SubscriptionKind

__all__ = [
    "EVENT_NAMES",
    "KIND_OF_SUBSCRIPTION",
    "SUBSCRIPTION_OF_KIND",
    "EventName",
    "PmpEvent",
    "RecordKind",
]

EventName = Literal[
    "created",
    "status",
    "priority",
    "assignee",
    "reply",
    "due_date",
    "overdue",
    "deleted",
    "updated",
]
EVENT_NAMES: tuple[EventName, ...] = get_args(EventName)

# The subscription kind that gets a record kind's events, and back.
SUBSCRIPTION_OF_KIND: Mapping[RecordKind, SubscriptionKind] = {
    "ticket": "tickets",
    "lead": "leads",
    "project": "projects",
    "milestone": "milestones",
    "customer": "customers",
}
KIND_OF_SUBSCRIPTION: Mapping[SubscriptionKind, RecordKind] = {
    subscription: record for record, subscription in SUBSCRIPTION_OF_KIND.items()
}


@dataclass(frozen=True, slots=True)
class PmpEvent:
    """One happening in a workspace's PMP.

    `key` is unique per workspace for this happening, so a repeat is dropped: e.g.
    "webhook:<delivery id>" or "poll:ticket:12:status:3:<fingerprint>". `changes` maps each
    watched field that changed to (before, after), named as in the record (status, priority,
    assigned, lastreply, duedate...). `record` is the record's current fields after the
    change as PMP sent them, already stripped of secrets; filters and cards read it.
    """

    team_id: str
    enterprise_id: str | None
    kind: RecordKind
    record_id: int
    event: EventName
    key: str
    changes: Mapping[str, tuple[str | None, str | None]]
    record: Mapping[str, str | None]
    occurred_at: datetime

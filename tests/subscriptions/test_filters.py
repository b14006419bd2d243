"""Which subscription an event matches: its kind, then every filter it sets against the
record's own fields (a record without the field doesn't pass), paused ones never."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.storage.subscriptions import Subscription, SubscriptionFilters
from bot.subscriptions import PmpEvent, matches


def subscription(kind: Any, paused: bool = False, **filters: int) -> Subscription:
    return Subscription(
        id=1,
        team_id="T1",
        enterprise_id=None,
        channel_id="C1",
        kind=kind,
        filters=SubscriptionFilters(**filters),
        broadcast_status=False,
        style="compact",
        created_by="U1",
        created_at=datetime(2026, 12, 5, tzinfo=UTC),
        paused_at=datetime(2026, 12, 5, tzinfo=UTC) if paused else None,
    )


def event(kind: Any, **record: str) -> PmpEvent:
    return PmpEvent(
        team_id="T1",
        enterprise_id=None,
        kind=kind,
        record_id=1,
        event="created",
        key="k",
        changes={},
        record=record,
        occurred_at=datetime(2026, 12, 5, tzinfo=UTC),
    )


TICKET = {"department": "2", "priority": "3", "status": "1", "userid": "5", "project_id": "7"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, True),
        ({"department": 2}, True),
        ({"department": 3}, False),
        ({"department": 2, "priority": 3, "status": 1}, True),
        ({"department": 2, "priority": 1}, False),
        ({"customer_id": 5}, True),
        ({"customer_id": 6}, False),
        ({"project_id": 7}, True),
        ({"project_id": 8}, False),
    ],
)
def test_ticket_filters(filters: dict[str, int], expected: bool) -> None:
    assert matches(subscription("tickets", **filters), event("ticket", **TICKET)) is expected


def test_kinds_and_the_other_records_filters() -> None:
    assert not matches(subscription("leads"), event("ticket", **TICKET))
    assert not matches(subscription("lookups"), event("ticket", **TICKET))
    assert matches(subscription("projects", customer_id=4), event("project", clientid="4"))
    assert not matches(subscription("projects", customer_id=4), event("project", clientid="9"))
    assert matches(subscription("projects", project_id=3), event("project", id="3"))
    assert matches(subscription("milestones", project_id=3), event("milestone", project_id="3"))
    assert not matches(subscription("milestones", project_id=3), event("milestone"))
    assert matches(subscription("customers", customer_id=5), event("customer", userid="5"))
    assert matches(subscription("leads"), event("lead", status="1"))


def test_odd_values_and_paused_subscriptions_do_not_match() -> None:
    assert not matches(subscription("tickets", department=2), event("ticket", department="two"))
    assert not matches(subscription("tickets", department=2), event("ticket", department=None))
    assert matches(subscription("tickets", department=2), event("ticket", department=" 2 "))
    assert not matches(subscription("tickets", paused=True), event("ticket", **TICKET))

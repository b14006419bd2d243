"""Subscription messages: the record's card (compact or full, no share button), the thread
line per event, by the workspace's names, with everything from PMP escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.blocks.cards import CardAction
from bot.blocks.subscription_cards import (
    event_line,
    notice_message,
    parent_card,
    paused_notice,
    thread_line,
)
from bot.names import NameBook
from bot.subscriptions import PmpEvent

SITE = "https://pmp.example.com"


def event(kind: Any = "ticket", name: Any = "created", changes: Any = None, **record: Any) -> Any:
    base = {
        "ticket": {"ticketid": "12", "subject": "<!channel> & <@U1> help", "status": "1"},
        "lead": {"id": "4", "name": "Jane <Doe>", "status": "2"},
        "milestone": {"id": "9", "name": "Launch", "project_id": "3", "due_date": "2026-12-01"},
        "project": {"id": "3", "name": "Website", "status": "2"},
        "customer": {"userid": "5", "company": "Acme"},
    }[kind]
    return PmpEvent(
        team_id="T1",
        enterprise_id=None,
        kind=kind,
        record_id=int(next(iter(base.values()))),
        event=name,
        key="k",
        changes=changes or {},
        record={**base, **record},
        occurred_at=datetime(2026, 12, 5, tzinfo=UTC),
    )


def dump(message: Any) -> str:
    return json.dumps([block.to_dict() for block in message.blocks]) + message.text


def test_pmp_text_is_escaped_everywhere() -> None:
    for style in ("compact", "full"):
        shown = dump(parent_card(event(), style, base_url=SITE, first=True))
        assert "<!channel>" not in shown and "<@U1>" not in shown
        assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in shown
    line = event_line(event(name="updated", changes={"<x>": ("<b>", "2")}))
    assert "&lt;b&gt;" in line and "&lt;x&gt;" in line and "<" not in line


def test_thread_lines_use_the_workspace_names() -> None:
    names = NameBook(ticket_statuses={2: "Waiting on us"}, staff={7: "Kim"})
    assert (
        event_line(event(name="status", changes={"status": ("1", "2")}), names)
        == "Status: Open → *Waiting on us*"
    )
    assert "Assignee: nobody → *Kim*" in event_line(
        event(name="assignee", changes={"assigned": ("0", "7")}), names
    )
    assert event_line(event(name="reply", changes={"lastreply": (None, "x")})) == "New reply"
    assert event_line(event(name="created")) == "New ticket"
    assert event_line(event("lead", "deleted")) == "This lead was deleted in PMP"
    assert event_line(event("milestone", "overdue")) == "Overdue (due 2026-12-01)"
    assert "Due date: 2026-12-01 → *2026-12-09*" in event_line(
        event("milestone", "due_date", {"due_date": ("2026-12-01", "2026-12-09")})
    )
    line = thread_line(event(name="priority", changes={"priority": ("1", "3")}))
    assert line.text.startswith("Ticket #12: ") and "*High*" in line.text


def test_full_card_is_the_record_card_without_share_and_compact_is_short() -> None:
    full = parent_card(event(), "full", base_url=SITE)
    full_json = dump(full)
    assert CardAction.SHARE.value not in full_json
    assert "Opened" in full_json or "Status" in full_json
    compact = parent_card(event(), "compact", base_url=SITE)
    assert len(compact.blocks) < len(full.blocks)
    assert f"{SITE}/admin/tickets/ticket/12" in dump(compact)
    # The first post says what happened; later updates show only the record.
    assert "New ticket" in dump(parent_card(event(), "compact", base_url=SITE, first=True))
    assert "New ticket" not in dump(compact)


def test_every_kind_has_a_card_and_a_milestone_links_to_its_project() -> None:
    for kind in ("ticket", "lead", "milestone", "project", "customer"):
        for style in ("compact", "full"):
            card = parent_card(event(kind), style, base_url=SITE, first=True)
            assert card.blocks and card.text
    milestone = dump(parent_card(event("milestone"), "compact", base_url=SITE))
    assert "admin/projects/view/3?group=project_milestones" in milestone


def test_a_record_pmp_sent_oddly_still_gets_a_compact_card() -> None:
    odd = event(status="not a number", ticketid="x")
    card = parent_card(odd, "full", base_url=SITE)
    assert "Ticket #12" in dump(card)


def test_notices_and_the_paused_notice() -> None:
    text = "\n".join(f"<@U1> looked up customer *{n}*" for n in range(200))
    message = notice_message(text)
    assert message.text == text and 1 < len(message.blocks) <= 50
    paused = paused_notice("C0777", "is_archived", ["tickets", "tickets", "leads"])
    assert "<#C0777>" in paused.text and "archived" in paused.text
    assert "tickets, leads" in paused.text and "/pmp subscriptions" in paused.text

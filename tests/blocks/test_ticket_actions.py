"""Ticket controls on cards and in the Home tab's queue, the Reply modal read back, and what
a card says after a press."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

from bot.blocks.cards import Message, build_ticket_card, ticket_controls
from bot.blocks.home import build_home, build_queue_blocks
from bot.blocks.ids import TicketCardAction
from bot.blocks.ticket_actions import (
    ReplyOrigin,
    action_line,
    build_reply_modal,
    read_reply,
)
from bot.connect import ConnectionStatus
from bot.console.blockkit import view_problems
from bot.names import NameBook
from bot.pmp.models import Milestone, Project, Ticket
from bot.queue import DueMilestone, MyQueue, due_milestones, my_tickets
from bot.ticket_actions import ActionResult, TicketAction
from tests.blocks.helpers import BASE_URL, NASTY, check_message, ticket_wire


def controls(message: Message) -> dict[str, dict[str, Any]]:
    return {
        element["action_id"]: element
        for block in check_message(message)
        if block["type"] == "actions"
        for element in block["elements"]
    }


def test_a_ticket_card_offers_status_priority_assign_and_close() -> None:
    card = build_ticket_card(Ticket.from_wire(ticket_wire()), base_url=BASE_URL)
    found = controls(card)
    status = found[TicketCardAction.STATUS]
    assert status["initial_option"]["text"]["text"] == "Open"
    assert [o["value"] for o in status["options"]][:2] == ["status:1:42", "status:2:42"]
    assert found[TicketCardAction.PRIORITY]["initial_option"]["text"]["text"] == "Medium"
    assert found[TicketCardAction.ASSIGN_ME]["value"] == "assign:0:42"
    close = found[TicketCardAction.CLOSE]
    assert close["value"] == "close:5:42" and close["confirm"]["confirm"]["text"] == "Close it"
    # PMP's answer has no tags: every change says, before it is made, that they go.
    assert "tags" in status["confirm"]["text"]["text"]
    assert TicketCardAction.REPLY not in found  # only where PMP has the reply endpoint


def test_reply_where_pmp_has_it_and_no_close_on_a_closed_ticket() -> None:
    card = build_ticket_card(
        Ticket.from_wire(ticket_wire(status="5")), base_url=BASE_URL, can_reply=True
    )
    found = controls(card)
    assert found[TicketCardAction.REPLY]["value"] == "reply:0:42"
    assert TicketCardAction.CLOSE not in found


def test_tags_pmp_sends_are_kept_so_no_warning() -> None:
    ticket = Ticket.from_wire(ticket_wire(tags="vip,printer"))
    found = {e["action_id"]: e for e in (c.to_dict() for c in ticket_controls(ticket))}
    assert "confirm" not in found[TicketCardAction.STATUS]
    assert "tags" not in json.dumps(found[TicketCardAction.CLOSE]["confirm"])


def test_menus_use_the_workspace_names_and_its_closed_status() -> None:
    names = NameBook(ticket_statuses={6: "Closed", 7: "Waiting on vendor"})
    card = build_ticket_card(Ticket.from_wire(ticket_wire()), base_url=BASE_URL, names=names)
    found = controls(card)
    texts = [o["text"]["text"] for o in found[TicketCardAction.STATUS]["options"]]
    assert "Closed" in texts and any(text.startswith("Waiting") for text in texts)
    assert found[TicketCardAction.CLOSE]["value"] == "close:6:42"


def test_what_a_card_says_after_a_press() -> None:
    ticket = Ticket.from_wire(ticket_wire(status="2"))
    names = NameBook()
    changed = ActionResult(TicketAction("status", 42, 2), ticket, changed=True)
    assert action_line(changed, "U1", names) == "<@U1> set the status to *In progress*."
    same = ActionResult(TicketAction("status", 42, 2), ticket, changed=False)
    assert "already *In progress*" in action_line(same, "U1", names)
    took = ActionResult(TicketAction("assign", 42, 3), ticket, changed=True)
    assert action_line(took, "U1", names) == "<@U1> took this ticket."


def test_the_reply_modal_defaults_to_answered_and_reads_back() -> None:
    origin = ReplyOrigin(42, response_url="https://hooks.slack.test/x", shared_by="U0001")
    view = build_reply_modal(origin, subject=NASTY, names=NameBook()).to_dict()
    assert view_problems(view, expected_type="modal") == []
    assert ReplyOrigin.from_metadata(view["private_metadata"]) == origin
    status_block = next(b for b in view["blocks"] if b.get("block_id") == "pmp_ticket_reply_status")
    assert status_block["element"]["initial_option"]["text"]["text"] == "Answered"
    values = {
        TicketCardAction.REPLY_MESSAGE_BLOCK: {
            TicketCardAction.REPLY_MESSAGE_INPUT: {"value": "  On it  "}
        },
        TicketCardAction.REPLY_STATUS_BLOCK: {
            TicketCardAction.REPLY_STATUS_INPUT: {"selected_option": {"value": "2"}}
        },
    }
    reading = read_reply(origin, {"state": {"values": values}})
    assert reading.draft is not None
    assert (reading.draft.message, reading.draft.status) == ("On it", 2)
    blank = read_reply(origin, {"state": {"values": {}}})
    assert blank.draft is None and TicketCardAction.REPLY_MESSAGE_BLOCK in blank.errors


def test_my_tickets_open_first_and_milestones_due() -> None:
    tickets = [
        Ticket.from_wire(ticket_wire(ticketid="1", assigned="3", status="5")),
        Ticket.from_wire(ticket_wire(ticketid="2", assigned="3", status="1")),
        Ticket.from_wire(ticket_wire(ticketid="3", assigned="4", status="1")),
    ]
    assert [t.id for t in my_tickets(tickets, 3, NameBook())] == [2, 1]
    today = date(2026, 12, 5)

    def milestone(mid: int, days: int, done: tuple[int, int] = (3, 1)) -> Milestone:
        return Milestone.from_wire(
            {
                "id": str(mid),
                "name": f"M{mid}",
                "project_id": "1",
                "due_date": str(today + timedelta(days=days)),
                "total_tasks": str(done[0]),
                "total_finished_tasks": str(done[1]),
            }
        )

    due, every_project = due_milestones(
        [milestone(1, 3), milestone(2, -2), milestone(3, 30), milestone(4, 1, (2, 2))],
        None,
        3,
        today,
    )
    assert [d.milestone.id for d in due] == [2, 1]
    assert due[0].overdue and not due[1].overdue
    assert every_project  # PMP didn't say who is on the projects


def test_the_queue_on_home_stays_within_slacks_limits() -> None:
    tickets = tuple(
        Ticket.from_wire(ticket_wire(ticketid=str(i), subject=NASTY * 3)) for i in range(1, 16)
    )
    milestones = tuple(
        DueMilestone(
            Milestone.from_wire(
                {"id": str(i), "name": NASTY, "project_id": "2", "due_date": "2026-12-01"}
            ),
            NASTY,
            overdue=True,
        )
        for i in range(1, 11)
    )
    queue = MyQueue(
        tickets=tickets,
        tickets_total=40,
        milestones=milestones,
        milestones_total=12,
        all_projects=True,
        can_reply=True,
        notes=("PMP didn't answer in time",),
    )
    status = ConnectionStatus(connected=True, pmp_url=BASE_URL)
    view = build_home(
        status, is_admin=True, commands=[], queue=queue, names=NameBook(), base_url=BASE_URL
    ).to_dict()
    assert view_problems(view, expected_type="home") == []
    assert len(view["blocks"]) <= 100
    text = json.dumps(view)
    assert "<!channel>" not in text
    assert "And 25 more assigned to you" in text
    # Long milestone names fill the section: those left out are counted, never cut off.
    assert re.search(r"And \d+ more\.", text)
    no_link = build_queue_blocks(None, problem="Run `/pmp staff`", names=NameBook(), base_url="")
    assert "/pmp staff" in json.dumps([b.to_dict() for b in no_link])


def test_milestones_of_my_projects_when_pmp_names_their_members() -> None:

    today = date(2026, 12, 5)
    mine = Project.from_wire({"id": "1", "name": "Mine", "project_members": [{"staff_id": "3"}]})
    theirs = Project.from_wire({"id": "2", "name": "Theirs", "project_members": ["4"]})
    milestones = [
        Milestone.from_wire(
            {"id": str(i), "name": f"M{i}", "project_id": str(i), "due_date": "2026-12-06"}
        )
        for i in (1, 2)
    ]
    due, every_project = due_milestones(milestones, [mine, theirs], 3, today)
    assert [(d.milestone.id, d.project_name) for d in due] == [(1, "Mine")]
    assert not every_project

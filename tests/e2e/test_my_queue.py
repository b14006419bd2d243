"""My queue on the Home tab, through the real app over signed HTTP against the PMP sandbox
(2.0.8 and 3.x) and the Slack stand-in: the tickets assigned to me (open first) with their
actions, milestones due within a week or overdue, a press in the queue, a user pmp-bot can't
match to PMP staff, and a slow PMP that doesn't hold the Home tab back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from bot.blocks.ids import HomeAction, TicketCardAction
from bot.console.slack_standin import RunningSlackStandin
from bot.queue import QueueLists
from bot.run.embedded import RunningBot
from bot.sandbox import running_sandbox, schema
from tests.e2e.conftest import MEMBER_A, TEAM_A
from tests.e2e.slack_client import SlackSender

# The stand-in's member "sam" has the e-mail of the sandbox's staff member 7.
SAM_STAFF_ID = 7


@pytest.fixture(params=[2, 3], ids=["2.0.8", "3.x"])
def pmp(request: pytest.FixtureRequest) -> Iterator[Any]:
    with running_sandbox(api_version=request.param) as sandbox:
        yield sandbox


def arrange(pmp: Any) -> None:
    """Sam has an open and a closed ticket; one milestone is due in 3 days, one overdue, one
    due tomorrow has all its tasks finished, and the others are far off."""
    for row in pmp.store.tickets():
        pmp.store.update(schema.TICKETS, str(row["ticketid"]), {"assigned": "1"})
    pmp.store.update(schema.TICKETS, "4", {"assigned": str(SAM_STAFF_ID), "status": "5"})
    pmp.store.update(schema.TICKETS, "9", {"assigned": str(SAM_STAFF_ID), "status": "1"})
    today = date.today()
    for row in pmp.store.milestones():
        pmp.store.update(
            schema.MILESTONES, str(row["id"]), {"due_date": str(today + timedelta(days=60))}
        )
    pmp.store.update(
        schema.MILESTONES, "1", {"due_date": str(today + timedelta(days=3)), "name": "Beta due"}
    )
    pmp.store.update(
        schema.MILESTONES, "5", {"due_date": str(today - timedelta(days=2)), "name": "Late one"}
    )
    # Every task of this one is finished: nothing is due any more.
    pmp.store.update(
        schema.MILESTONES, "16", {"due_date": str(today + timedelta(days=1)), "name": "All done"}
    )


async def open_home(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, user: str
) -> dict[str, Any]:
    """Opens the Home tab; the view last published once the bot is done (a slow PMP's queue
    follows a first publish that says it is being read)."""
    bot, sender = connected
    since = len(slack.calls)
    event = {"type": "app_home_opened", "user": user, "tab": "home"}
    assert (await sender.event(event, team=TEAM_A)).status_code == 200
    await slack.wait_for("views.publish", since=since, timeout=15)
    assert await bot.services.listeners.wait_idle(timeout=15)
    calls = [c for c in slack.calls[since:] if c.method == "views.publish"]
    assert calls and all(c.ok for c in calls), [c.response for c in calls]
    view: dict[str, Any] = calls[-1].response["view"]
    return view


def queue_text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


async def test_my_queue_lists_my_tickets_open_first_and_milestones_due(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    arrange(pmp)
    view = await open_home(connected, slack, MEMBER_A)
    text = queue_text(view)
    assert "My queue" in text
    open_at, closed_at = text.index("#9"), text.index("#4")
    assert open_at < closed_at  # open first
    assert text.count(TicketCardAction.STATUS) == 2  # each ticket has its controls
    assert (TicketCardAction.REPLY in text) is (pmp.api_version >= 3)
    assert "Beta due" in text and "Late one" in text and "overdue since" in text
    assert text.index("Late one") < text.index("Beta due")
    assert "All done" not in text
    assert len(view["blocks"]) <= 100
    assert HomeAction.NEW_TICKET in text  # the rest of Home is still there


async def test_a_press_in_the_queue_changes_the_ticket_and_publishes_home_again(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    arrange(pmp)
    await bot.services.workspaces.set_allow_first_record_file_loss(TEAM_A, None, True)
    view = await open_home(connected, slack, MEMBER_A)
    close = next(
        (block["block_id"], element)
        for block in view["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == TicketCardAction.CLOSE and element["value"].endswith(":9")
    )
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=MEMBER_A,
        view=view,
        action={
            "action_id": TicketCardAction.CLOSE,
            "block_id": close[0],
            "type": "button",
            "value": close[1]["value"],
        },
    )
    assert (await sender.interaction(payload)).status_code == 200
    published = await slack.wait_for("views.publish", since=since, timeout=15)
    assert published.ok, published.response
    assert pmp.store.ticket("9")["status"] == "5"
    # Closed now: no Close for it any more, and it sits after the open ones.
    after = queue_text(published.response["view"])
    assert "close:5:9" not in after


async def test_a_user_pmp_bot_cant_match_is_told_how_to_link(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    slack.add_user(TEAM_A, "U0001N", "newcomer")
    text = queue_text(await open_home(connected, slack, "U0001N"))
    assert "/pmp staff" in text
    assert TicketCardAction.STATUS not in text


async def test_a_slow_pmp_leaves_the_queue_out_with_a_note(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, _ = connected
    await open_home(connected, slack, MEMBER_A)  # links sam by e-mail while PMP is quick
    bot.services.queue_lists = QueueLists()  # not the lists that first opening kept
    pmp.faults.latency = 4.0
    since = len(slack.calls)
    try:
        text = queue_text(await open_home(connected, slack, MEMBER_A))
    finally:
        pmp.faults.latency = 0.0
    assert "didn't answer in time" in text
    assert HomeAction.NEW_TICKET in text  # the rest of Home is published all the same
    # And before that, at once: the rest of Home, the queue said to be on its way.
    first = next(c for c in slack.calls[since:] if c.method == "views.publish")
    shown = json.dumps(first.params)
    assert "Reading your queue from PMP" in shown and HomeAction.NEW_TICKET in shown

"""Ticket actions on cards, through the real app over signed HTTP, against the PMP sandbox in
2.0.8 and 3.x modes and the Slack stand-in: each action on each mode, Assign to me without a
staff link, Reply only on 3.x, Close's confirm dialog, a double click making one change, and
ticket #1's files kept unless an admin allowed otherwise."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.blocks.ids import TicketCardAction
from bot.console.slack_standin import RecordedCall, RunningSlackStandin
from bot.pmp_pool import WorkspaceKey
from bot.run.embedded import RunningBot
from bot.run.shell import run_shell
from bot.sandbox import DEMO_FACTS, running_sandbox, schema
from tests.e2e.conftest import MEMBER_A, OWNER_A, TEAM_A
from tests.e2e.slack_client import SlackSender

TICKET = 12
NEWCOMER = "U0001N"


@pytest.fixture(params=[2, 3], ids=["2.0.8", "3.x"])
def pmp(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The sandbox of `connected`, in each API module version."""
    with running_sandbox(api_version=request.param) as sandbox:
        yield sandbox


def stored_ticket(pmp: Any, ticket_id: int = TICKET) -> dict[str, Any]:
    row = pmp.store.ticket(str(ticket_id))
    assert row is not None
    return dict(row)


def ticket_one_files(pmp: Any) -> list[str]:
    return [str(f["file_name"]) for f in pmp.store.files("tickets", "1")]


async def allow_file_loss(bot: RunningBot) -> None:
    await bot.services.workspaces.set_allow_first_record_file_loss(TEAM_A, None, True)


async def link_staff(bot: RunningBot, user: str, staff_id: int) -> None:
    client = await bot.services.pmp_pool.client_for(
        WorkspaceKey(TEAM_A, None),
        (await bot.services.workspaces.get(TEAM_A, None)).credentials_version,  # type: ignore[union-attr]
    )
    assert client is not None
    await bot.services.staff.set_link(
        client, WorkspaceKey(TEAM_A, None), user, staff_id, set_by=OWNER_A
    )


async def card(sender: SlackSender, slack: RunningSlackStandin, user: str = MEMBER_A) -> Any:
    """`/pmp ticket <id>`: the private card as the stand-in keeps it."""
    since = len(slack.calls)
    response = await sender.command(f"ticket {TICKET}", team=TEAM_A, user=user)
    assert response.status_code == 200
    call = await slack.wait_for("response_url", since=since, timeout=15)
    assert call.ok and call.effect is not None and call.effect.ts is not None
    message = slack.message(call.effect.channel_id, call.effect.ts)
    assert message is not None
    return message


def controls(blocks: list[dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """action id -> (block id, element) of every control on the card."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if "action_id" in element:
                found[element["action_id"]] = (block.get("block_id", ""), element)
    return found


def option(element: dict[str, Any], text: str) -> dict[str, Any]:
    return next(o for o in element["options"] if o["text"]["text"] == text)


async def press(
    sender: SlackSender,
    slack: RunningSlackStandin,
    message: Any,
    action_id: str,
    *,
    choose: str | None = None,
    user: str = MEMBER_A,
    wait: str = "response_url",
) -> RecordedCall:
    block_id, element = controls(message.blocks)[action_id]
    action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": element["type"]}
    if choose is not None:
        action["selected_option"] = option(element, choose)
    else:
        action["value"] = element["value"]
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=user,
        action=action,
        channel=message.channel_id,
        message_ts=message.ts,
        is_ephemeral=message.ephemeral_for is not None,
    )
    assert (await sender.interaction(payload)).status_code == 200
    call = await slack.wait_for(wait, since=since, timeout=15)
    assert call.ok, call.response
    return call


async def test_each_action_changes_the_ticket_and_the_card_in_place(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    await allow_file_loss(bot)
    await link_staff(bot, MEMBER_A, 3)
    pmp.store.update(schema.TICKETS, str(TICKET), {"status": "1", "priority": "1", "assigned": "0"})
    changed: list[tuple[str, str, int]] = []

    async def heard(team: str, enterprise: str | None, kind: str, record_id: int) -> None:
        changed.append((team, kind, record_id))

    # What the subscriptions' event sources hear: each change the bot made to the ticket.
    bot.services.subscriptions.delivery.set_change_listener(heard)
    message = await card(sender, slack)
    ids = controls(message.blocks)
    assert {TicketCardAction.STATUS, TicketCardAction.PRIORITY, TicketCardAction.ASSIGN_ME} <= set(
        ids
    )
    assert (TicketCardAction.REPLY in ids) is (pmp.api_version >= 3)
    # Close asks first, in Slack's own dialog.
    assert ids[TicketCardAction.CLOSE][1]["confirm"]["confirm"]["text"] == "Close it"

    replaced = await press(sender, slack, message, TicketCardAction.STATUS, choose="In progress")
    assert replaced.effect is not None and replaced.effect.action == "replaced"
    assert replaced.effect.ts == message.ts
    assert stored_ticket(pmp)["status"] == "2"
    assert f"<@{MEMBER_A}> set the status to *In progress*" in json.dumps(replaced.params)

    message = slack.message(message.channel_id, message.ts)
    await press(sender, slack, message, TicketCardAction.PRIORITY, choose="High")
    assert (stored_ticket(pmp)["priority"], stored_ticket(pmp)["status"]) == ("3", "2")

    message = slack.message(message.channel_id, message.ts)
    await press(sender, slack, message, TicketCardAction.ASSIGN_ME)
    row = stored_ticket(pmp)
    assert (row["assigned"], row["priority"], row["status"]) == ("3", "3", "2")

    message = slack.message(message.channel_id, message.ts)
    closed = await press(sender, slack, message, TicketCardAction.CLOSE)
    row = stored_ticket(pmp)
    assert (row["status"], row["assigned"], row["priority"]) == ("5", "3", "3")
    assert TicketCardAction.CLOSE not in controls(closed.params["blocks"])  # closed: no Close
    assert changed == [(TEAM_A, "ticket", TICKET)] * 4


async def test_a_double_click_makes_one_change(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    await allow_file_loss(bot)
    pmp.store.update(schema.TICKETS, str(TICKET), {"status": "1"})
    message = await card(sender, slack)
    await bot.services.workspaces.set_notify_channel(TEAM_A, None, "C0001")
    since = len(slack.calls)
    await asyncio.gather(
        press(sender, slack, message, TicketCardAction.CLOSE),
        press(sender, slack, message, TicketCardAction.CLOSE),
    )
    assert await bot.services.listeners.wait_idle(timeout=15)
    assert stored_ticket(pmp)["status"] == "5"
    answers = [json.dumps(c.params) for c in slack.calls[since:] if c.method == "response_url"]
    assert len(answers) == 2
    # One press changed it; the other found it changed, or still being saved.
    changed = [a for a in answers if f"<@{MEMBER_A}> set the status" in a]
    assert len(changed) == 1, answers
    other = next(a for a in answers if a not in changed)
    assert "already" in other or "still being saved" in other
    # The notify channel hears of the one change.
    notice = await slack.wait_for("chat.postMessage", since=since, timeout=15)
    assert f"<@{MEMBER_A}> closed ticket" in json.dumps(notice.params)
    posts = [c for c in slack.calls[since:] if c.method == "chat.postMessage"]
    assert sum("closed ticket" in json.dumps(c.params) for c in posts) == 1


async def test_ticket_one_files_refuse_a_change_until_an_admin_allows_it(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    pmp.store.update(schema.TICKETS, str(TICKET), {"priority": "1"})
    message = await card(sender, slack)
    refused = await press(sender, slack, message, TicketCardAction.PRIORITY, choose="High")
    text = refused.params["text"]
    assert "ticket #1" in text and "/pmp settings" in text
    assert stored_ticket(pmp)["priority"] == "1"
    assert DEMO_FACTS.first_ticket_file in ticket_one_files(pmp)

    await allow_file_loss(bot)
    await press(sender, slack, message, TicketCardAction.PRIORITY, choose="High")
    assert stored_ticket(pmp)["priority"] == "3"


async def test_assign_to_me_without_a_staff_link_says_how_to_get_one(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    await allow_file_loss(bot)
    pmp.store.update(schema.TICKETS, str(TICKET), {"assigned": "0"})
    # Someone whose Slack profile shares no e-mail with PMP's staff, and has no link.
    slack.add_user(TEAM_A, NEWCOMER, "newcomer")
    message = await card(sender, slack, user=NEWCOMER)
    answer = await press(sender, slack, message, TicketCardAction.ASSIGN_ME, user=NEWCOMER)
    assert "/pmp staff" in answer.params["text"]
    assert answer.params.get("replace_original") is False
    assert stored_ticket(pmp)["assigned"] == "0"


async def test_a_shared_card_stays_shared_after_an_action(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    await allow_file_loss(bot)
    pmp.store.update(schema.TICKETS, str(TICKET), {"status": "1"})
    private = await card(sender, slack)
    shared_call = await press(sender, slack, private, "pmp_card_share")
    assert shared_call.effect is not None and shared_call.effect.ts is not None
    shared = slack.message(shared_call.effect.channel_id, shared_call.effect.ts)
    assert shared is not None and shared.ephemeral_for is None
    after = await press(
        sender, slack, shared, TicketCardAction.STATUS, choose="On Hold", user=OWNER_A
    )
    assert after.effect is not None and after.effect.ephemeral_for is None
    text = json.dumps(after.params["blocks"])
    assert f"Shared by <@{MEMBER_A}>" in text
    assert "pmp_card_share" not in text and "pmp_card_delete" not in text
    assert stored_ticket(pmp)["status"] == "4"


async def test_reply_is_posted_as_the_staff_member_on_3x(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    message = await card(sender, slack)
    if pmp.api_version < 3:
        assert TicketCardAction.REPLY not in controls(message.blocks)
        return
    await link_staff(bot, MEMBER_A, 2)
    opened = await press(sender, slack, message, TicketCardAction.REPLY, wait="views.open")
    view_id = opened.response["view"]["id"]
    # The modal opens at once and is filled in once PMP has answered.
    assert await connected[0].services.listeners.wait_idle(timeout=15)
    view = slack.view(view_id)
    assert view is not None and view["callback_id"] == TicketCardAction.REPLY_MODAL
    values = {
        TicketCardAction.REPLY_MESSAGE_BLOCK: {
            TicketCardAction.REPLY_MESSAGE_INPUT: {"type": "plain_text_input", "value": "On it!"}
        },
        TicketCardAction.REPLY_STATUS_BLOCK: {
            TicketCardAction.REPLY_STATUS_INPUT: {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Answered"},
                    "value": "3",
                },
            }
        },
    }
    payload = sender.view_submission(team=TEAM_A, user=MEMBER_A, view=view, values=values)
    since = len(slack.calls)
    answer = await sender.interaction(payload)
    assert answer.status_code == 200
    assert answer.json()["response_action"] == "update"
    assert "Replied to ticket" in json.dumps(answer.json()["view"])
    assert stored_ticket(pmp)["status"] == "3"
    replies = (
        pmp.store.ticket_replies(str(TICKET)) if hasattr(pmp.store, "ticket_replies") else None
    )
    assert str(replies[-1]["message"]).startswith("On it!")
    assert str(replies[-1]["admin"]) == "2"
    # The card the Reply was pressed on now says so.
    updated = await slack.wait_for("response_url", since=since, timeout=15)
    assert f"<@{MEMBER_A}> replied." in json.dumps(updated.params)
    # The same submission again (a double click): no second reply.
    again = await sender.interaction(payload)
    assert again.json()["response_action"] == "update"
    assert len(pmp.store.ticket_replies(str(TICKET))) == len(replies)


async def test_the_console_renders_the_controls_and_presses_them() -> None:
    with running_sandbox(api_version=3) as sandbox:
        out = io.StringIO()
        await run_shell(
            pmp_url=sandbox.base_url,
            pmp_token=sandbox.token,
            out=out,
            lines=[
                f"/pmp ticket {TICKET}",
                "press 3",  # the status menu: Slack's confirm, then the choice
                "y",
                "2",
                "press 6",  # Reply: the modal, typed in, sent
                "Looking into it",
                ".",
                "",
                "submit",
                "quit",
            ],
        )
        replies = sandbox.store.ticket_replies(str(TICKET))
    text = out.getvalue()
    assert "[3 choose: " in text and "Assign to me]" in text and "Reply]" in text
    assert "Close (danger)]" in text
    # The status change met ticket #1's files (the console's admin hasn't allowed it).
    assert "/pmp settings" in text
    # The reply went to PMP as the console user's staff account (alex: staff 6, by e-mail).
    assert str(replies[-1]["message"]).startswith("Looking into it")
    assert str(replies[-1]["admin"]) == "6"
    assert "replied." in text
    assert "Traceback" not in text


async def test_reply_without_a_staff_link_says_how_to_get_one(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    if pmp.api_version < 3:
        pytest.skip("Reply is offered on PMP 3.x only (checked in the test above)")
    slack.add_user(TEAM_A, NEWCOMER, "newcomer")
    message = await card(sender, slack, user=NEWCOMER)
    opened = await press(
        sender, slack, message, TicketCardAction.REPLY, user=NEWCOMER, wait="views.open"
    )
    view_id = opened.response["view"]["id"]
    # The modal opens at once and is filled in once PMP has answered.
    assert await connected[0].services.listeners.wait_idle(timeout=15)
    view = slack.view(view_id)
    assert view is not None and "/pmp staff" in json.dumps(view["blocks"])
    assert view.get("submit") is None  # nothing to send
    assert pmp.store.ticket_replies(str(TICKET)) == []

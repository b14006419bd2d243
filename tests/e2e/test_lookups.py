"""Lookups from chat, end to end: `/pmp` over signed HTTP, the PMP sandbox over loopback,
results through the Slack stand-in's response_url."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.ids import CardAction
from bot.blocks.results import PageState
from bot.console.slack_standin import RecordedCall, RunningSlackStandin
from bot.run.embedded import RunningBot
from tests.e2e.conftest import MEMBER_A, OWNER_A, TEAM_A, bot_and_sender, bot_settings
from tests.e2e.slack_client import SlackSender


async def command_reply(
    sender: SlackSender, slack: RunningSlackStandin, text: str, user: str = MEMBER_A
) -> RecordedCall:
    since = len(slack.calls)
    response = await sender.command(text, team=TEAM_A, user=user)
    assert response.status_code == 200
    assert response.text == ""  # an empty ack: the answer comes through the response_url
    return await slack.wait_for("response_url", since=since, timeout=15)


def buttons(call: RecordedCall) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for block in call.params.get("blocks", []):
        elements = list(block.get("elements", []))
        if "accessory" in block:
            elements.append(block["accessory"])
        for element in elements:
            if "action_id" in element:
                found.setdefault(element["action_id"], []).append(element)
    return found


async def press(
    sender: SlackSender, slack: RunningSlackStandin, element: dict[str, Any], user: str = MEMBER_A
) -> RecordedCall:
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=user,
        # Like Slack: a button without a value is pressed without one.
        action={
            "action_id": element["action_id"],
            "block_id": "b",
            "type": element.get("type", "button"),
            **({"value": element["value"]} if "value" in element else {}),
        },
    )
    assert (await sender.interaction(payload)).status_code == 200
    return await slack.wait_for("response_url", since=since, timeout=15)


async def test_search_shows_a_private_page_of_results(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    reply = await command_reply(sender, slack, "customer acme")
    text = json.dumps(reply.params)
    assert reply.params.get("response_type", "ephemeral") == "ephemeral"
    assert "Acme Corporation" in text
    assert "Acme Widgets Ltd" in text
    assert "match" in text


async def test_show_builds_the_card_and_remembers_the_lookup(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    reply = await command_reply(sender, slack, "customer 1")
    text = json.dumps(reply.params)
    assert "Acme Corporation" in text
    assert f"{pmp.base_url}/admin/clients/client/1" in text
    assert CardAction.SHARE in buttons(reply)
    # The lookup is remembered just after the card is delivered.
    for _ in range(200):
        recent = await bot.services.recent_lookups.recent(TEAM_A, MEMBER_A)
        if recent:
            break
        await asyncio.sleep(0.01)
    assert [(r.kind, r.record_id) for r in recent] == [("customer", 1)]


async def test_pmp_data_is_escaped_so_it_cannot_ping_anyone(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    reply = await command_reply(sender, slack, "ticket channel")
    text = json.dumps(reply.params)
    assert "production outage" in text
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text


async def test_paging_uses_the_kept_results(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    first = await command_reply(sender, slack, "customer a")
    next_buttons = buttons(first).get(CardAction.RESULTS_NEXT)
    assert next_buttons, "a broad search has a second page"
    state = PageState.parse(next_buttons[0]["value"])
    assert state.page == 2

    pmp.faults.html_500 = True  # page 2 must come from memory, not from PMP
    second = await press(sender, slack, next_buttons[0])
    assert second.params.get("replace_original") is True
    assert "went wrong" not in json.dumps(second.params)
    assert CardAction.RESULTS_PREVIOUS in buttons(second)


async def test_share_posts_the_card_in_the_channel(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    card = await command_reply(sender, slack, "project 1")
    shared = await press(sender, slack, buttons(card)[CardAction.SHARE][0])
    assert shared.params["response_type"] == "in_channel"
    text = json.dumps(shared.params)
    assert f"<@{MEMBER_A}>" in text
    assert CardAction.SHARE not in buttons(shared)


def refresh_option(blocks: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The block id and the Refresh option of a card's overflow menu, as Slack shows it."""
    for block in blocks:
        menu = block.get("accessory") or {}
        if menu.get("action_id") == CardAction.MENU:
            for option in menu["options"]:
                if option["text"]["text"] == "Refresh":
                    return block["block_id"], option
    raise AssertionError("the card has no Refresh")


async def test_refreshing_a_shared_card_keeps_it_shared_for_the_channel(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    card = await command_reply(sender, slack, "customer 1")
    shared = await press(sender, slack, buttons(card)[CardAction.SHARE][0])
    assert shared.effect is not None and shared.effect.ephemeral_for is None
    channel, ts = shared.effect.channel_id, shared.effect.ts
    assert ts is not None
    stored = slack.message(channel, ts)
    assert stored is not None
    block_id, option = refresh_option(stored.blocks)

    # An admin (who would see Delete on a private card) refreshes the card in the channel.
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=OWNER_A,
        channel=channel,
        message_ts=ts,
        is_ephemeral=False,
        action={
            "action_id": CardAction.MENU,
            "block_id": block_id,
            "type": "overflow",
            "selected_option": option,
        },
    )
    assert (await sender.interaction(payload)).status_code == 200
    refreshed = await slack.wait_for("response_url", since=since, timeout=15)
    assert refreshed.ok, refreshed.response
    assert refreshed.effect is not None
    assert (refreshed.effect.action, refreshed.effect.ts) == ("replaced", ts)
    assert refreshed.effect.ephemeral_for is None  # still the channel's message
    after = slack.message(channel, ts)
    assert after is not None
    text = json.dumps(after.blocks)
    assert f"Shared by <@{MEMBER_A}>" in text  # the sharer, not the presser
    ids = {
        e.get("action_id")
        for b in after.blocks
        for e in [*b.get("elements", []), b.get("accessory") or {}]
    }
    assert CardAction.SHARE not in ids
    assert CardAction.DELETE not in ids
    # Refreshing the refreshed card keeps it shared too.
    assert refresh_option(after.blocks)[1]["value"].endswith(f"@{MEMBER_A}")


async def test_refreshing_a_private_card_keeps_it_private_with_its_controls(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    card = await command_reply(sender, slack, "customer 1", user=OWNER_A)
    assert card.effect is not None and card.effect.ts is not None
    channel, ts = card.effect.channel_id, card.effect.ts
    stored = slack.message(channel, ts)
    assert stored is not None and stored.ephemeral_for == OWNER_A
    block_id, option = refresh_option(stored.blocks)
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=OWNER_A,
        channel=channel,
        message_ts=ts,
        action={
            "action_id": CardAction.MENU,
            "block_id": block_id,
            "type": "overflow",
            "selected_option": option,
        },
    )
    assert (await sender.interaction(payload)).status_code == 200
    refreshed = await slack.wait_for("response_url", since=since, timeout=15)
    assert refreshed.effect is not None and refreshed.effect.action == "replaced"
    after = slack.message(channel, ts)
    assert after is not None and after.ephemeral_for == OWNER_A
    text = json.dumps(after.blocks)
    assert CardAction.SHARE in text and CardAction.DELETE in text
    assert "Shared by" not in text


async def test_customer_card_lists_its_projects(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    card = await command_reply(sender, slack, "customer 1")
    listing = await press(sender, slack, buttons(card)[CardAction.PROJECTS][0])
    assert "Acme Corporation" in json.dumps(listing.params)


async def test_lookups_post_notices_to_the_notify_channel(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    await bot.services.workspaces.set_notify_channel(TEAM_A, None, "C0001")
    since = len(slack.calls)
    await command_reply(sender, slack, "customer 1")
    notice = await slack.wait_for("chat.postMessage", since=since, timeout=10)
    assert notice.params["channel"] == "C0001"
    assert f"<@{MEMBER_A}> looked up customer" in notice.params["text"]
    assert "Acme Corporation" in notice.params["text"]


async def test_an_unconnected_workspace_is_told_how_to_connect(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (_, sender):
        response = await sender.command("customer acme", team=TEAM_A, user=MEMBER_A)
        assert "isn't connected to PMP yet" in response.text
        assert "/pmp connect" in response.text


async def test_a_slow_pmp_is_acked_at_once_and_answered_later(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    pmp.faults.latency = 1.5
    since = len(slack.calls)
    response = await sender.command("lead jane", team=TEAM_A, user=MEMBER_A)
    assert response.status_code == 200
    # When the ack came back, PMP had not answered yet: nothing was delivered.
    assert not [c for c in slack.calls[since:] if c.method == "response_url"]
    reply = await slack.wait_for("response_url", since=since, timeout=15)
    assert "lead" in json.dumps(reply.params).lower()


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"html_500": True}, "PMP had an internal error (HTTP 500)"),
        ({"token": "aaa.bbb.ccc"}, "PMP refused the API token"),
    ],
)
async def test_pmp_failures_reach_the_user_as_clear_messages(
    connected: tuple[RunningBot, SlackSender],
    slack: RunningSlackStandin,
    pmp: Any,
    fault: dict[str, Any],
    expected: str,
) -> None:
    bot, sender = connected
    if "token" in fault:
        await bot.services.workspaces.save_credentials(
            team_id=TEAM_A,
            enterprise_id=None,
            base_url=pmp.base_url,
            token=fault["token"],
            connected_by=OWNER_A,
        )
    else:
        pmp.faults.update(fault)
    reply = await command_reply(sender, slack, "customer acme")
    text = json.dumps(reply.params)
    assert expected in text
    assert "Traceback" not in text


async def test_project_card_lists_its_milestones(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    card = await command_reply(sender, slack, "project 1")
    listing = await press(sender, slack, buttons(card)[CardAction.MILESTONES][0])
    text = json.dumps(listing.params)
    assert "milestone" in text.lower()
    assert "went wrong" not in text
    assert CardAction.SHOW in buttons(listing)

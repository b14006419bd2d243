"""Channel notices: `/pmp notify`, and a burst of lookups paced into few messages."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.console.slack_standin import RunningSlackStandin
from bot.run.embedded import RunningBot
from tests.e2e.conftest import MEMBER_A, OWNER_A, TEAM_A
from tests.e2e.slack_client import SlackSender


async def notify(
    sender: SlackSender, slack: RunningSlackStandin, text: str, user: str = OWNER_A
) -> str:
    since = len(slack.calls)
    response = await sender.command(f"notify {text}".strip(), team=TEAM_A, user=user)
    assert response.status_code == 200
    reply = await slack.wait_for("response_url", since=since, timeout=10)
    return json.dumps(reply.params)


@pytest.mark.parametrize("reference", ["<#C0001|general>", "<#C0001>", "#general", "C0001"])
async def test_an_admin_names_the_channel_in_any_form(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, reference: str
) -> None:
    bot, sender = connected
    reply = await notify(sender, slack, reference)
    assert "<#C0001>" in reply
    welcome = slack.calls_to("chat.postMessage")[-1]
    assert welcome.ok
    assert f"<@{OWNER_A}>" in welcome.params["text"]
    workspace = await bot.services.workspaces.get(TEAM_A)
    assert workspace is not None and workspace.notify_channel_id == "C0001"


async def test_a_channel_without_the_bot_gets_a_how_to_fix(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    slack.add_channel(TEAM_A, "C0999", "secret-plans", bot_is_member=False, is_private=True)
    reply = await notify(sender, slack, "<#C0999|secret-plans>")
    assert "/invite @PMP" in reply
    workspace = await bot.services.workspaces.get(TEAM_A)
    assert workspace is not None and workspace.notify_channel_id is None


async def test_notify_off_and_showing_the_current_channel(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    await notify(sender, slack, "<#C0001|general>")
    assert "<#C0001>" in await notify(sender, slack, "", user=MEMBER_A)
    assert "notices are off" in await notify(sender, slack, "off")
    workspace = await bot.services.workspaces.get(TEAM_A)
    assert workspace is not None and workspace.notify_channel_id is None
    assert "No channel gets notices" in await notify(sender, slack, "", user=MEMBER_A)


async def test_members_cannot_change_the_channel(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    assert "Only workspace admins" in await notify(sender, slack, "off", user=MEMBER_A)


async def test_a_burst_of_twenty_lookups_is_batched_and_nothing_is_lost(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    await bot.services.workspaces.set_notify_channel(TEAM_A, None, "C0001")
    since = len(slack.calls)
    ids = list(range(1, 21))
    responses = await asyncio.gather(
        *(sender.command(f"customer {i}", team=TEAM_A, user=MEMBER_A) for i in ids)
    )
    assert all(r.status_code == 200 for r in responses)
    await bot.services.listeners.wait_idle(timeout=30)
    assert await bot.services.subscriptions.delivery.wait_delivered()
    posts = [c for c in slack.calls[since:] if c.method == "chat.postMessage"]
    assert 1 <= len(posts) <= 6  # paced at one message per second per channel
    lines = "\n".join(p.params["text"] for p in posts).splitlines()
    assert len([line for line in lines if "looked up customer" in line]) == 20


async def test_a_rate_limited_notice_is_retried_after_retry_after(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    await bot.services.workspaces.set_notify_channel(TEAM_A, None, "C0001")
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    since = len(slack.calls)
    await sender.command("customer 1", team=TEAM_A, user=MEMBER_A)
    delivered = await slack.wait_for("chat.postMessage", lambda c: c.ok, since=since, timeout=10)
    assert "looked up customer" in delivered.params["text"]
    attempts = [c for c in slack.calls[since:] if c.method == "chat.postMessage"]
    assert attempts[0].status == 429
    assert delivered.at - attempts[0].at >= 0.9

"""Slack answering 429 (with Retry-After) and 5xx to chat.postMessage, views.update and
response_url posts: retried when that is safe, otherwise the user is told."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.ids import CardAction, HomeAction
from bot.blocks.results import PageState
from bot.console.slack_standin import RecordedCall, RunningSlackStandin
from bot.run.embedded import RunningBot
from tests.e2e.conftest import MEMBER_A, OWNER_A, TEAM_A
from tests.e2e.slack_client import SlackSender
from tests.reliability.conftest import assert_no_traceback, replies_since
from tests.reliability.test_pmp_faults import find_button


async def wait_calls(
    slack: RunningSlackStandin, method: str, since: int, count: int, timeout: float = 15.0
) -> list[RecordedCall]:
    await slack.wait_for(
        method,
        lambda c: len([x for x in slack.calls[since:] if x.method == method]) >= count,
        timeout=timeout,
        since=since,
    )
    return [c for c in slack.calls[since:] if c.method == method]


async def test_a_rate_limited_reply_is_sent_again_after_retry_after(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    slack.fail_next("response_url", status=429, retry_after=1)
    since = len(slack.calls)
    assert (await sender.command("customer acme", team=TEAM_A, user=MEMBER_A)).status_code == 200
    limited, delivered = await replies_since(slack, since, 2)
    assert limited.status == 429
    assert delivered.ok, delivered.response
    assert "Acme Corporation" in json.dumps(delivered.params)
    assert delivered.at - limited.at >= 0.9, "Retry-After is honoured"


async def test_a_page_turn_hit_by_a_server_error_is_sent_again(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    since = len(slack.calls)
    await sender.command("customer a", team=TEAM_A, user=MEMBER_A)
    (first,) = await replies_since(slack, since, 1)
    button = find_button(first.params, CardAction.RESULTS_NEXT)
    slack.fail_next("response_url", status=503)
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=MEMBER_A,
        action={"action_id": button["action_id"], "block_id": "b", "value": button["value"]},
    )
    assert (await sender.interaction(payload)).status_code == 200
    failed, delivered = await replies_since(slack, since, 2)
    # Replacing the original message is idempotent: sending it twice is safe.
    assert failed.status == 503
    assert delivered.ok and delivered.params.get("replace_original") is True
    assert PageState.parse(button["value"]).page == 2
    assert delivered.params["blocks"] == failed.params["blocks"]


async def test_a_new_reply_hit_by_a_server_error_is_not_duplicated_but_explained(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    slack.fail_next("response_url", status=500)
    since = len(slack.calls)
    await sender.command("customer acme", team=TEAM_A, user=MEMBER_A)
    failed, notice = await replies_since(slack, since, 2)
    assert failed.status == 500 and "Acme Corporation" in json.dumps(failed.params)
    # Slack may have shown the first post already: it is not sent again, the user is told.
    assert notice.ok
    assert "Acme Corporation" not in json.dumps(notice.params)
    assert "Slack" in notice.params["text"] and "again" in notice.params["text"]
    assert_no_traceback(notice.params["text"])
    assert len([c for c in slack.calls[since:] if c.method == "response_url"]) == 2


async def notify_reply(sender: SlackSender, slack: RunningSlackStandin) -> tuple[str, int]:
    since = len(slack.calls)
    response = await sender.command("notify <#C0001|general>", team=TEAM_A, user=OWNER_A)
    assert response.status_code == 200
    (reply,) = await replies_since(slack, since, 1)
    posts = len([c for c in slack.calls[since:] if c.method == "chat.postMessage"])
    return json.dumps(reply.params), posts


async def test_a_rate_limited_channel_post_is_retried(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    reply, posts = await notify_reply(sender, slack)
    assert posts == 2
    assert "<#C0001>" in reply and "couldn't" not in reply
    workspace = await bot.services.workspaces.get(TEAM_A)
    assert workspace is not None and workspace.notify_channel_id == "C0001"


async def test_a_channel_post_hit_by_a_server_error_is_not_repeated_and_the_admin_is_told(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    slack.fail_next("chat.postMessage", status=500)
    reply, posts = await notify_reply(sender, slack)
    assert posts == 1, "a message that may have been posted is not posted twice"
    assert "Slack" in reply and "again" in reply
    assert_no_traceback(reply)
    workspace = await bot.services.workspaces.get(TEAM_A)
    assert workspace is not None and workspace.notify_channel_id is None


async def show_recent_from_home(
    sender: SlackSender, slack: RunningSlackStandin, bot: RunningBot
) -> list[RecordedCall]:
    await bot.services.recent_lookups.add(TEAM_A, MEMBER_A, "customer", 1, "Acme Corporation")
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=MEMBER_A,
        action={
            "action_id": HomeAction.SHOW_RECENT,
            "block_id": "b",
            "type": "button",
            "value": "customer:1",
        },
        view={"id": "VHOME", "type": "home", "blocks": []},
    )
    assert (await sender.interaction(payload)).status_code == 200
    return await wait_calls(slack, "views.update", since, 2)


async def test_views_update_is_retried_after_a_rate_limit_and_a_server_error(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    for fault in ({"status": 429, "retry_after": 1}, {"status": 500}):
        slack.fail_next("views.update", **fault)  # type: ignore[arg-type]
        failed, done = await show_recent_from_home(sender, slack, bot)
        assert failed.status == fault["status"]
        assert done.ok, done.response
        view: Any = done.params["view"]
        assert "Acme Corporation" in json.dumps(view)


async def test_a_long_rate_limit_is_not_waited_out_and_the_admin_is_told(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    slack.fail_next("chat.postMessage", status=429, retry_after=600)
    reply, posts = await notify_reply(sender, slack)
    assert posts == 1
    assert "Slack" in reply and "again" in reply
    workspace = await bot.services.workspaces.get(TEAM_A)
    assert workspace is not None and workspace.notify_channel_id is None

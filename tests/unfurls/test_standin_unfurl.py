"""The Slack stand-in's side of link previews, as strict as Slack: `link_shared` only for the
app's unfurl domains, and `chat.unfurl` checked (scope, message, links, blocks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_standin import (
    DEFAULT_BOT_TOKEN,
    RunningSlackStandin,
    running_slack_standin,
)

LINK = "https://crm.example.com/admin/clients/client/1"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Acme*"}}]


@pytest.fixture
def slack() -> Iterator[RunningSlackStandin]:
    with running_slack_standin() as standin:
        standin.set_unfurl_domains("crm.example.com")
        yield standin


@pytest.fixture
def client(slack: RunningSlackStandin) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url)


async def refused(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    error = caught.value.response["error"]
    assert isinstance(error, str)
    return error


def test_links_to_unfurl_domains_and_their_subdomains_are_shared(
    slack: RunningSlackStandin,
) -> None:
    text = f"see <{LINK}|Acme>, https://eu.crm.example.com/x and https://example.org/a"
    envelope = slack.share_link("T0001", "U0001M", text)
    assert envelope is not None
    event = envelope["event"]
    assert event["type"] == "link_shared" and event["source"] == "conversations_history"
    assert event["links"] == [
        {"domain": "crm.example.com", "url": LINK},
        {"domain": "crm.example.com", "url": "https://eu.crm.example.com/x"},
    ]
    assert event["channel"] == "C0001" and event["is_bot_user_member"] is True
    assert slack.message("C0001", event["message_ts"]) is not None
    assert envelope["is_ext_shared_channel"] is False
    assert (
        slack.share_link("T0001", "U0001M", "nothing for the app: https://notcrm.example.com")
        is None
    )


async def test_chat_unfurl_attaches_previews_by_channel_and_ts_or_unfurl_id(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    event = (slack.share_link("T0001", "U0001M", LINK) or {})["event"]
    unfurls = {LINK: {"blocks": BLOCKS}}
    assert (await client.chat_unfurl(channel="C0001", ts=event["message_ts"], unfurls=unfurls))[
        "ok"
    ]
    assert slack.unfurls(event["unfurl_id"]) == unfurls
    draft = (slack.share_link("T0001", "U0001M", LINK, composer=True) or {})["event"]
    assert draft["channel"] == "COMPOSER" and draft["message_ts"] == draft["unfurl_id"]
    answer = await client.chat_unfurl(
        unfurl_id=draft["unfurl_id"], source="composer", unfurls=unfurls
    )
    assert answer["ok"] and slack.unfurls(draft["unfurl_id"]) == unfurls


async def test_chat_unfurl_is_refused_as_slack_refuses_it(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    event = (slack.share_link("T0001", "U0001M", LINK) or {})["event"]
    ts = event["message_ts"]
    good = {LINK: {"blocks": BLOCKS}}
    assert await refused(client.chat_unfurl(channel="C0001", unfurls=good)) == "missing_ts"
    assert await refused(client.chat_unfurl(ts=ts, unfurls=good)) == "missing_channel"
    assert (
        await refused(client.chat_unfurl(unfurl_id=event["unfurl_id"], unfurls=good))
        == "invalid_arguments"
    )
    assert await refused(client.chat_unfurl(channel="C0001", ts="1.2", unfurls=good)) == (
        "cannot_find_message"
    )
    assert await refused(client.chat_unfurl(channel="C0999", ts=ts, unfurls=good)) == (
        "cannot_find_channel"
    )
    assert await refused(client.chat_unfurl(channel="C0001", ts=ts)) == "missing_unfurls"
    # Keyed by the link exactly as the event gave it: a trailing slash is another URL.
    other = {LINK + "/": {"blocks": BLOCKS}}
    assert await refused(client.chat_unfurl(channel="C0001", ts=ts, unfurls=other)) == (
        "cannot_unfurl_url"
    )
    bad_blocks = {LINK: {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]}}
    assert await refused(client.chat_unfurl(channel="C0001", ts=ts, unfurls=bad_blocks)) == (
        "invalid_blocks"
    )
    # The events of one workspace can't be answered with another's token.
    slack.add_team("T0002", "xoxb-other")
    other_team = AsyncWebClient(token="xoxb-other", base_url=slack.api_url)
    assert (
        await refused(
            other_team.chat_unfurl(
                unfurl_id=event["unfurl_id"], source="conversations_history", unfurls=good
            )
        )
        == "cannot_find_message"
    )
    assert slack.unfurls(event["unfurl_id"]) == {}


async def test_chat_unfurl_needs_links_write(slack: RunningSlackStandin) -> None:
    event = (slack.share_link("T0001", "U0001M", LINK) or {})["event"]
    slack.add_team("T0001", "xoxb-narrow", scopes="commands,chat:write,users:read")
    narrow = AsyncWebClient(token="xoxb-narrow", base_url=slack.api_url)
    call = narrow.chat_unfurl(
        channel="C0001", ts=event["message_ts"], unfurls={LINK: {"blocks": BLOCKS}}
    )
    assert await refused(call) == "missing_scope"


def test_a_slack_connect_channel_says_so_in_the_envelope(slack: RunningSlackStandin) -> None:
    slack.add_channel("T0001", "C0CONNECT", "partner")
    slack.connect_channel("T0001", "C0CONNECT")
    envelope = slack.share_link("T0001", "U0001M", LINK, channel_id="C0CONNECT")
    assert envelope is not None and envelope["is_ext_shared_channel"] is True


def test_a_link_in_a_direct_message_is_shared_too(
    slack: RunningSlackStandin,
) -> None:
    envelope = slack.share_link("T0001", "U0001", LINK, channel_id="D0001M")
    assert envelope is not None
    assert envelope["event"]["channel"] == "D0001M"

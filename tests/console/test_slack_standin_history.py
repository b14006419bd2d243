"""The Slack stand-in's threads, message metadata and conversation history, as strict as
Slack: what subscription delivery relies on to post in threads and to find a message it may
already have posted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_standin import (
    DEFAULT_BOT_TOKEN,
    RunningSlackStandin,
    running_slack_standin,
)

TEAM = "T0001"
META = {"event_type": "pmp_event", "event_payload": {"delivery": 7}}


@pytest.fixture
def slack() -> Iterator[RunningSlackStandin]:
    with running_slack_standin(
        channels=[
            {"id": "C0002", "name": "support"},
            {"id": "G0003", "name": "secret", "is_private": True, "bot_is_member": False},
            {"id": "C0004", "name": "elsewhere", "bot_is_member": False},
        ]
    ) as standin:
        yield standin


@pytest.fixture
async def client(slack: RunningSlackStandin) -> AsyncIterator[AsyncWebClient]:
    async with aiohttp.ClientSession() as session:
        yield AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url, session=session)


async def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call  # type: ignore[misc]
    return str(raised.value.response["error"])


async def test_thread_replies_broadcast_and_metadata_in_history(
    client: AsyncWebClient, slack: RunningSlackStandin
) -> None:
    parent = await client.chat_postMessage(channel="C0002", text="card", metadata=META)
    ts = parent["ts"]
    await client.chat_postMessage(channel="C0002", text="quiet", thread_ts=ts)
    loud = await client.chat_postMessage(
        channel="C0002",
        text="loud",
        thread_ts=ts,
        reply_broadcast=True,
        metadata={"event_type": "pmp_event", "event_payload": {"delivery": 8}},
    )
    history = await client.conversations_history(channel="C0002")
    # Newest first; a quiet reply stays in its thread; no metadata unless asked for.
    assert [m["text"] for m in history["messages"]] == ["loud", "card"]
    assert history["messages"][0]["subtype"] == "thread_broadcast"
    assert all("metadata" not in m for m in history["messages"])
    with_meta = await client.conversations_history(channel="C0002", include_all_metadata=True)
    assert with_meta["messages"][1]["metadata"] == META
    replies = await client.conversations_replies(channel="C0002", ts=ts, include_all_metadata=True)
    assert [m["text"] for m in replies["messages"]] == ["card", "quiet", "loud"]
    assert replies["messages"][2]["metadata"]["event_payload"] == {"delivery": 8}
    # oldest is exclusive unless inclusive is set.
    later = await client.conversations_history(channel="C0002", oldest=loud["ts"])
    assert later["messages"] == []
    same = await client.conversations_history(channel="C0002", oldest=loud["ts"], inclusive=True)
    assert [m["text"] for m in same["messages"]] == ["loud"]


async def test_history_pages_with_a_cursor(client: AsyncWebClient) -> None:
    for n in range(5):
        await client.chat_postMessage(channel="C0002", text=f"m{n}")
    first = await client.conversations_history(channel="C0002", limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["has_more"]
    cursor = first["response_metadata"]["next_cursor"]
    second = await client.conversations_history(channel="C0002", limit=2, cursor=cursor)
    assert [m["text"] for m in second["messages"]] == ["m2", "m1"]


async def test_what_slack_refuses(client: AsyncWebClient, slack: RunningSlackStandin) -> None:
    assert await error_of(client.chat_postMessage(channel="C0002", text="x", thread_ts="1.2")) == (
        "thread_not_found"
    )
    assert (
        await error_of(
            client.chat_postMessage(
                channel="C0002", text="x", metadata={"event_type": "no spaces", "event_payload": {}}
            )
        )
        == "invalid_metadata_schema"
    )
    assert await error_of(client.conversations_history(channel="C0004")) == "not_in_channel"
    assert await error_of(client.conversations_history(channel="G0003")) == "channel_not_found"
    assert await error_of(client.conversations_replies(channel="C0002", ts="1.2")) == (
        "thread_not_found"
    )
    slack.archive_channel(TEAM, "C0002")
    assert await error_of(client.chat_postMessage(channel="C0002", text="x")) == "is_archived"
    assert (await client.conversations_history(channel="C0002"))["ok"]  # still readable
    slack.remove_bot(TEAM, "C0001")
    assert await error_of(client.chat_postMessage(channel="C0001", text="x")) == ("not_in_channel")


async def test_history_needs_the_history_scope(slack: RunningSlackStandin) -> None:
    slack.add_team(TEAM, "xoxb-narrow", scopes="commands,chat:write")
    async with aiohttp.ClientSession() as session:
        narrow = AsyncWebClient(token="xoxb-narrow", base_url=slack.api_url, session=session)
        assert await error_of(narrow.conversations_history(channel="C0002")) == "missing_scope"

"""The subscription commands' Slack side that the end-to-end tests don't reach with numbers
large enough: finding a person among many channel members, a channel by name among many
channels (both paged by Slack), and the help topic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_standin import (
    DEFAULT_BOT_TOKEN,
    RunningSlackStandin,
    running_slack_standin,
)
from bot.grammar import ChannelRef
from handlers.commands import help_sections
from handlers.subscriptions import _channel_id, _is_member, routes


@pytest.fixture
def slack() -> Iterator[RunningSlackStandin]:
    with running_slack_standin() as standin:
        yield standin


@pytest.fixture
def client(slack: RunningSlackStandin) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url)


async def test_a_member_is_found_on_a_later_page(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    slack.add_channel("T0001", "C0BIG", "big")
    crowd = [f"U9{n:05d}" for n in range(2500)]
    slack.add_channel_members("T0001", "C0BIG", *crowd, "U0001M")
    assert await _is_member(client, "C0BIG", "U0001M")
    assert not await _is_member(client, "C0BIG", "U0001")
    pages = slack.calls_to("conversations.members")
    assert len(pages) == 6 and all(call.ok for call in pages)  # three pages, twice
    # A channel Slack won't describe (private, bot not in it) is "not a member", not a crash.
    slack.add_channel("T0001", "G0SECRET", "secret", bot_is_member=False, is_private=True)
    assert not await _is_member(client, "G0SECRET", "U0001M")


async def test_a_channel_named_without_its_id_is_found_among_many(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    for n in range(1200):
        slack.add_channel("T0001", f"C1{n:05d}", f"project-{n}")
    slack.add_channel("T0001", "G0TEAM", "Team-Room", is_private=True)
    assert await _channel_id(client, ChannelRef(id=None, name="project-1150")) == "C101150"
    assert await _channel_id(client, ChannelRef(id=None, name="team-room")) == "G0TEAM"
    assert await _channel_id(client, ChannelRef(id=None, name="nowhere")) is None
    assert await _channel_id(client, ChannelRef(id="C0001", name="general")) == "C0001"


def test_help_lists_the_subscription_commands() -> None:
    [section] = help_sections("subscribe")
    assert section.title == "Channel subscriptions"
    usages = [entry.usage for entry in section.entries]
    assert usages[0] == "subscribe tickets"
    assert "subscriptions" in usages and "unsubscribe tickets" in usages
    assert len(routes()) == 3

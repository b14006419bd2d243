"""Which shared links get a preview (bot.unfurls): the workspace's options per conversation,
its own PMP's record pages only, and reading several records at once within a deadline."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.names import TicketSettings
from bot.pmp import PmpNotFoundError, PmpTimeoutError
from bot.pmp.links import PageLink
from bot.storage import Workspace
from bot.unfurls import (
    MAX_PREVIEWS,
    Conversation,
    fetch_previews,
    links_to_preview,
    pmp_links,
    previews_allowed,
    shared_urls,
)

ROOT = "https://crm.example.com"
NOW = datetime(2026, 12, 5, tzinfo=UTC)


def workspace(**options: Any) -> Workspace:
    base = Workspace(
        team_id="T1",
        enterprise_id=None,
        pmp_base_url=ROOT,
        is_connected=True,
        connected_by="U1",
        connected_at=NOW,
        last_pmp_success_at=None,
        notify_channel_id=None,
        ticket_settings=TicketSettings(),
        credentials_version=1,
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(base, **options)


CHANNEL_WITH_BOT = Conversation("conversations_history", "C1", True, False)
CHANNEL_WITHOUT_BOT = Conversation("conversations_history", "C2", False, False)
DIRECT_MESSAGE = Conversation("conversations_history", "D1", False, False)
SLACK_CONNECT = Conversation("conversations_history", "C3", True, True)
COMPOSER = Conversation("composer", "COMPOSER", True, False)


@pytest.mark.parametrize(
    ("mode", "connect", "allowed"),
    [
        ("off", True, set()),
        ("internal", False, {"with bot"}),
        ("internal", True, {"with bot"}),
        ("everywhere", False, {"with bot", "without bot", "dm"}),
        ("everywhere", True, {"with bot", "without bot", "dm", "connect", "composer"}),
    ],
)
def test_the_workspace_options_decide_where_previews_appear(
    mode: str, connect: bool, allowed: set[str]
) -> None:
    options = workspace(unfurl_mode=mode, unfurl_in_slack_connect=connect)
    conversations = {
        "with bot": CHANNEL_WITH_BOT,
        "without bot": CHANNEL_WITHOUT_BOT,
        "dm": DIRECT_MESSAGE,
        "connect": SLACK_CONNECT,
        "composer": COMPOSER,
    }
    shown = {name for name, where in conversations.items() if previews_allowed(options, where)}
    assert shown == allowed


def test_the_conversation_comes_from_the_event_and_its_envelope() -> None:
    event = {"channel": "C9", "is_bot_user_member": True, "source": "conversations_history"}
    assert Conversation.from_event(event, {"is_ext_shared_channel": True}) == Conversation(
        "conversations_history", "C9", True, True
    )
    composer = {"channel": "COMPOSER", "unfurl_id": "U1-x"}  # older events carry no source
    assert Conversation.from_event(composer, {}).source == "composer"
    # Anything but a real true is not membership nor Slack Connect.
    odd = Conversation.from_event({"is_bot_user_member": "true"}, {"is_ext_shared_channel": 1})
    assert (odd.bot_is_member, odd.slack_connect) == (False, False)


def test_only_record_pages_of_the_workspaces_pmp_each_once_and_a_few() -> None:
    urls = [
        "https://other.example.com/admin/clients/client/1",
        f"{ROOT}/admin/clients/client/1",
        f"{ROOT}/admin/clients/client/1",
        f"{ROOT}/admin/reports",
        *[f"{ROOT}/admin/tickets/ticket/{n}" for n in range(1, 10)],
    ]
    found = pmp_links(ROOT, urls)
    assert len(found) == MAX_PREVIEWS
    assert found[0] == (f"{ROOT}/admin/clients/client/1", PageLink("customer", 1))
    assert [page.id for _, page in found[1:]] == [1, 2, 3, 4]
    assert pmp_links(None, urls) == []


def test_a_workspace_without_pmp_or_with_previews_off_previews_nothing() -> None:
    url = [f"{ROOT}/admin/leads/index/2"]
    assert links_to_preview(workspace(), CHANNEL_WITH_BOT, url) == [(url[0], PageLink("lead", 2))]
    assert links_to_preview(None, CHANNEL_WITH_BOT, url) == []
    assert links_to_preview(workspace(is_connected=False), CHANNEL_WITH_BOT, url) == []
    assert links_to_preview(workspace(unfurl_mode="off"), CHANNEL_WITH_BOT, url) == []


def test_the_urls_of_an_event_are_taken_as_sent() -> None:
    event = {"links": [{"url": "https://a/1", "domain": "a"}, {"domain": "b"}, "x", {"url": 3}]}
    assert shared_urls(event) == ["https://a/1"]
    assert shared_urls({"links": "nope"}) == []


async def test_records_are_read_together_and_the_missing_and_late_left_out() -> None:
    started: list[int] = []
    release = asyncio.Event()
    never = asyncio.Event()

    async def read(page: PageLink) -> str:
        started.append(page.id)
        if page.id == 2:
            raise PmpNotFoundError("No data were found", status_code=404)
        if page.id == 3:
            await never.wait()  # PMP never answers: the deadline leaves it out
        if page.id == 1:
            await release.wait()  # answers only once every read has started
        return f"record {page.id}"

    links = [(f"u{n}", PageLink("customer", n)) for n in (1, 2, 3, 4)]

    async def release_when_all_started() -> None:
        while len(started) < len(links):
            await asyncio.sleep(0)
        release.set()

    fetched, _ = await asyncio.gather(
        fetch_previews(links, read, deadline_s=0.5), release_when_all_started()
    )
    assert [(f.url, f.record) for f in fetched] == [("u1", "record 1"), ("u4", "record 4")]


async def test_a_failure_that_isnt_pmps_is_not_hidden() -> None:
    async def read(page: PageLink) -> str:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        await fetch_previews([("u", PageLink("lead", 1))], read)


async def test_a_pmp_timeout_costs_only_its_own_preview() -> None:
    async def read(page: PageLink) -> int:
        if page.id == 1:
            raise PmpTimeoutError("slow")
        return page.id

    links = [("a", PageLink("lead", 1)), ("b", PageLink("lead", 2))]
    assert [f.record for f in await fetch_previews(links, read)] == [2]

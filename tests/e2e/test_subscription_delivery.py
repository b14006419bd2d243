"""Subscription delivery end to end: the real app with the PMP sandbox (changes made on PMP's
side, read by the bot's poll job) and the Slack stand-in. A record's card is posted once, its
later events go to its thread (status changes also to the channel when the subscription says
so) and the card follows the record; an archived channel pauses its subscription and its
subscriber hears of it once; a bot stopped half-way and started again posts the rest once;
two instances on PostgreSQL post each change once."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.console.slack_standin import RunningSlackStandin
from bot.run.embedded import RunningBot, running_bot
from bot.storage import to_async_database_url
from bot.storage.subscriptions import SubscriptionFilters
from tests.e2e.conftest import OWNER_A, SIGNING_SECRET, TEAM_A, bot_settings
from tests.e2e.slack_client import SlackSender

GENERAL = "C0001"


async def change(sandbox: Any, kind: str, record_id: int, **fields: str) -> None:
    """An edit made in PMP's own web UI."""
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        answer = await http.post(
            "/_sandbox/changes",
            json={"kind": kind, "id": record_id, "fields": fields},
            headers={"authtoken": sandbox.token},
        )
    assert answer.status_code == 200, answer.text


async def subscribe(sender: SlackSender, slack: RunningSlackStandin, text: str) -> None:
    since = len(slack.calls)
    response = await sender.command(f"subscribe {text}", team=TEAM_A, user=OWNER_A)
    assert response.status_code == 200
    reply = await slack.wait_for("response_url", since=since, timeout=15)
    assert "now gets" in json.dumps(reply.params), reply.params


async def poll(bot: RunningBot) -> None:
    """One read of PMP by the poll job (one instance at a time), as every minute."""
    sources = bot.services.sources
    assert sources is not None
    await sources.poll(TEAM_A, None)


async def delivered(bot: RunningBot) -> None:
    assert await bot.services.subscriptions.delivery.wait_delivered(timeout=60)


def bot_posts(slack: RunningSlackStandin, channel: str) -> list[Any]:
    return [
        call
        for call in slack.calls_to("chat.postMessage")
        if call.ok and call.params.get("channel") == channel and call.params.get("metadata")
    ]


def ticket_ids(pmp: Any, count: int) -> list[int]:
    return [int(row["ticketid"]) for row in pmp.store.tickets()[:count]]


async def test_a_ticket_gets_one_card_its_events_a_thread_and_the_card_follows(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    await subscribe(sender, slack, f"<#{GENERAL}|general> tickets broadcast full")
    await poll(bot)  # the baseline: nothing posted
    await delivered(bot)
    assert bot_posts(slack, GENERAL) == []
    ticket = ticket_ids(pmp, 1)[0]

    await change(pmp, "ticket", ticket, status="2")
    await poll(bot)
    await delivered(bot)
    (card,) = bot_posts(slack, GENERAL)
    parent = card.response["ts"]
    assert "thread_ts" not in card.params
    assert "In progress" in json.dumps(card.params["blocks"])

    await change(pmp, "ticket", ticket, priority="1")
    await poll(bot)
    await change(pmp, "ticket", ticket, status="3")
    await poll(bot)
    await delivered(bot)
    replies = bot_posts(slack, GENERAL)[1:]
    assert [r.params.get("thread_ts") for r in replies] == [parent, parent]
    assert "Priority" in json.dumps(replies[0].params["blocks"])
    assert not replies[0].params.get("reply_broadcast")
    assert replies[1].params.get("reply_broadcast")  # a status change, broadcast asked for
    assert "Answered" in json.dumps(replies[1].params["blocks"])
    # The card in the channel shows the ticket as it is now.
    shown = slack.message(GENERAL, parent)
    assert shown is not None and shown.edited
    assert "Answered" in json.dumps(shown.blocks) and "Low" in json.dumps(shown.blocks)
    # In the channel: the card, and the broadcast status change.
    top = slack.channel_messages(GENERAL)
    assert [m.ts for m in top if m.metadata] == [parent, replies[1].response["ts"]]


async def test_an_archived_channel_is_paused_and_its_subscriber_told_once(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    slack.add_channel(TEAM_A, "C0777", "escalations")
    await subscribe(sender, slack, "<#C0777|escalations> tickets")
    await poll(bot)
    slack.archive_channel(TEAM_A, "C0777")
    first, second = ticket_ids(pmp, 2)
    await change(pmp, "ticket", first, status="2")
    await poll(bot)
    await delivered(bot)
    await change(pmp, "ticket", second, status="2")
    await poll(bot)
    await delivered(bot)
    refused = [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.params.get("channel") == "C0777" and c.params.get("metadata")
    ]
    assert len(refused) == 1 and refused[0].response["error"] == "is_archived"
    told = [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.params.get("channel") == OWNER_A and "paused" in c.params["text"]
    ]
    assert len(told) == 1 and "<#C0777>" in told[0].params["text"]
    (subscription,) = await bot.services.subscriptions.store.list_for_channel(TEAM_A, "C0777")
    assert subscription.paused_reason == "is_archived"


async def test_a_bot_stopped_half_way_posts_the_rest_once_after_a_restart(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    tickets = ticket_ids(pmp, 6)
    async with running_bot(settings) as bot:
        await bot.services.workspaces.save_credentials(
            team_id=TEAM_A,
            enterprise_id=None,
            base_url=pmp.base_url,
            token=pmp.token,
            connected_by=OWNER_A,
        )
        await bot.services.subscriptions.store.add(
            TEAM_A, None, GENERAL, "tickets", SubscriptionFilters(), created_by=OWNER_A
        )
        await poll(bot)
        for ticket in tickets:
            await change(pmp, "ticket", ticket, status="2")
        await poll(bot)
        # Six cards at one a second: the bot stops while most still wait.
        await slack.wait_for("chat.postMessage", lambda c: c.ok, timeout=15)
    posted_before = len(bot_posts(slack, GENERAL))
    assert posted_before < len(tickets)
    async with running_bot(settings) as bot:
        await delivered(bot)
    ids = [p.params["metadata"]["event_payload"]["delivery"] for p in bot_posts(slack, GENERAL)]
    assert len(ids) == len(tickets) and len(set(ids)) == len(tickets)
    for ticket in tickets:
        assert len([p for p in bot_posts(slack, GENERAL) if f"#{ticket}" in p.params["text"]]) == 1


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A PostgreSQL database of its own (TEST_DATABASE_URL's server), dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: two instances share a PostgreSQL database")
    name = f"pmpbot_e2e_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(to_async_database_url(base), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_two_instances_on_postgresql_post_each_change_once(
    slack: RunningSlackStandin, pmp: Any, secret_key: str, postgres_url: str
) -> None:
    settings = bot_settings(slack, postgres_url, secret_key)
    tickets = ticket_ids(pmp, 4)
    async with AsyncExitStack() as stack, httpx.AsyncClient(timeout=10) as http:
        bots = [await stack.enter_async_context(running_bot(settings)) for _ in range(2)]
        sender = SlackSender(
            events_url=bots[0].events_url, signing_secret=SIGNING_SECRET, standin=slack, http=http
        )
        await bots[0].services.workspaces.save_credentials(
            team_id=TEAM_A,
            enterprise_id=None,
            base_url=pmp.base_url,
            token=pmp.token,
            connected_by=OWNER_A,
        )
        await subscribe(sender, slack, f"<#{GENERAL}|general> tickets")
        await poll(bots[0])
        for ticket in tickets:
            await change(pmp, "ticket", ticket, status="2")
        # Both instances are asked to poll at once: the poll job runs on one at a time,
        # and whichever reads the changes, each is posted by one instance, once.
        jobs = [bot.services.subscriptions.jobs for bot in bots]
        await asyncio.gather(*(j.schedule_poll(TEAM_A, None, 0) for j in jobs))
        for _ in range(300):
            if len(bot_posts(slack, GENERAL)) >= len(tickets):
                break
            await asyncio.sleep(0.1)
        await delivered(bots[0])
        await delivered(bots[1])
    texts = [p.params["text"] for p in bot_posts(slack, GENERAL)]
    assert len(texts) == len(tickets)
    for ticket in tickets:
        assert len([t for t in texts if f"#{ticket}" in t]) == 1

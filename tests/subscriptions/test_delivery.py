"""Delivery through the Slack stand-in: fan-out and filters, threads and parent updates,
pacing (sleeps counted, not timed), 429s, a paused channel reported once, and exactly once
across a crash between Slack's answer and recording it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.slack_response import SlackResponse

from bot.blocks.subscription_cards import SubscriptionRenderer
from bot.console.slack_standin import RunningSlackStandin, running_slack_standin
from bot.names import NameBook
from bot.storage import Database
from bot.storage.subscriptions import (
    DeliveryStore,
    OutboxRow,
    Subscription,
    SubscriptionFilters,
    SubscriptionStore,
)
from bot.subscriptions import PmpEvent, SubscriptionDelivery
from bot.subscriptions.delivery import _retry_after

TEAM = "T0001"
TOKEN = "xoxb-standin-T0001"
GENERAL = "C0001"


@pytest.fixture
def slack() -> Iterator[RunningSlackStandin]:
    with running_slack_standin(
        teams={TEAM: TOKEN},
        channels=[
            {"team_id": TEAM, "id": "C0002", "name": "support"},
            {"team_id": TEAM, "id": "C0003", "name": "sales"},
        ],
    ) as standin:
        yield standin


@dataclass
class Harness:
    db: Database
    slack: RunningSlackStandin
    http: aiohttp.ClientSession
    sleeps: list[float] = field(default_factory=list)
    reports: list[tuple[str, str, list[int]]] = field(default_factory=list)

    def delivery(self, store: DeliveryStore | None = None) -> SubscriptionDelivery:
        async def client_for(team_id: str, enterprise_id: str | None) -> AsyncWebClient | None:
            return AsyncWebClient(token=TOKEN, base_url=self.slack.api_url, session=self.http)

        async def site(team_id: str, enterprise_id: str | None) -> tuple[str, NameBook]:
            return "https://pmp.example.com", NameBook()

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        async def report(
            team_id: str,
            enterprise_id: str | None,
            channel_id: str,
            code: str,
            paused: Any,
        ) -> None:
            self.reports.append((channel_id, code, [s.id for s in paused]))

        return SubscriptionDelivery(
            subscriptions=SubscriptionStore(self.db),
            store=store or DeliveryStore(self.db),
            client_for=client_for,
            renderer=SubscriptionRenderer(site),
            report_paused=report,
            sleep=sleep,
        )

    async def subscribe(self, channel: str, kind: Any = "tickets", **kw: Any) -> Subscription:
        filters = kw.pop("filters", SubscriptionFilters())
        sub, _ = await SubscriptionStore(self.db).add(
            TEAM, None, channel, kind, filters, created_by="U0001", **kw
        )
        return sub

    def posts(self, ok: bool = True) -> list[Any]:
        return [c for c in self.slack.calls_to("chat.postMessage") if c.ok == ok]


@pytest.fixture
async def h(db: Database, slack: RunningSlackStandin) -> AsyncIterator[Harness]:
    async with aiohttp.ClientSession() as http:
        yield Harness(db, slack, http)


def ticket(
    record_id: int,
    key: str,
    event: Any = "created",
    changes: dict[str, tuple[str | None, str | None]] | None = None,
    **fields: str,
) -> PmpEvent:
    record = {
        "ticketid": str(record_id),
        "subject": f"Printer <{record_id}> on fire",
        "department": "1",
        "priority": "2",
        "status": "1",
        "userid": "5",
        "project_id": "0",
        **fields,
    }
    return PmpEvent(
        team_id=TEAM,
        enterprise_id=None,
        kind="ticket",
        record_id=record_id,
        event=event,
        key=key,
        changes=changes or {},
        record=record,
        occurred_at=datetime(2026, 12, 5, 10, tzinfo=UTC),
    )


async def test_fan_out_follows_kind_and_filters_and_repeats_are_dropped(h: Harness) -> None:
    await h.subscribe(GENERAL)
    await h.subscribe("C0002", filters=SubscriptionFilters(department=1, priority=2))
    await h.subscribe("C0003", filters=SubscriptionFilters(department=9))
    await h.subscribe("C0003", kind="leads")
    delivery = h.delivery()
    assert await delivery.accept([ticket(12, "k12")]) == 1
    assert await delivery.accept([ticket(12, "k12")]) == 0  # the same happening again
    await delivery.wait_idle()
    posted = sorted(c.params["channel"] for c in h.posts())
    assert posted == [GENERAL, "C0002"]
    text = h.posts()[0].params["text"]
    assert "&lt;12&gt;" in text and "<12>" not in text  # PMP's text is escaped
    meta = h.posts()[0].params["metadata"]
    assert meta["event_type"] == "pmp_event"


async def test_later_events_go_to_the_thread_and_update_the_card(h: Harness) -> None:
    await h.subscribe(GENERAL, broadcast_status=True)
    delivery = h.delivery()
    await delivery.accept([ticket(12, "k1")])
    await delivery.wait_idle()
    parent = h.posts()[0].response["ts"]
    await delivery.accept(
        [
            ticket(12, "k2", "status", {"status": ("1", "2")}, status="2"),
            ticket(12, "k3", "priority", {"priority": ("2", "3")}, status="2", priority="3"),
        ]
    )
    await delivery.wait_idle()
    replies = h.posts()[1:]
    assert [r.params.get("thread_ts") for r in replies] == [parent, parent]
    # Only the status change is broadcast (the subscription asks for it).
    assert [bool(r.params.get("reply_broadcast")) for r in replies] == [True, False]
    assert "Status: Open → *In progress*" in str(replies[0].params["blocks"])
    # The two waited together: one update, after the last, shows the ticket as it is now.
    updates = [c for c in h.slack.calls_to("chat.update") if c.ok]
    assert len(updates) == 1 and updates[0].params["ts"] == parent
    assert "High" in str(updates[0].params["blocks"])
    assert "In progress" in str(updates[0].params["blocks"])
    await delivery.accept([ticket(12, "k4", "status", {"status": ("2", "3")}, status="3")])
    await delivery.wait_idle()
    updates = [c for c in h.slack.calls_to("chat.update") if c.ok]
    assert len(updates) == 2 and "Answered" in str(updates[1].params["blocks"])
    thread = h.slack.channel_messages(GENERAL, thread_ts=parent)
    assert len(thread) == 3


async def test_posts_are_paced_per_channel_in_the_database(h: Harness) -> None:
    await h.subscribe(GENERAL)
    await h.subscribe("C0002")
    delivery = h.delivery()
    await delivery.accept([ticket(i, f"k{i}") for i in range(1, 5)])
    await delivery.wait_idle()
    assert len(h.posts()) == 8
    # Each channel's 2nd..4th post waited for its slot (the other channel doesn't count).
    waits = [s for s in h.sleeps if s > 0.5]
    assert len(waits) == 6


async def test_a_429_is_retried_after_its_retry_after(h: Harness) -> None:
    await h.subscribe(GENERAL)
    h.slack.fail_next("chat.postMessage", status=429, retry_after=7)
    delivery = h.delivery()
    await delivery.accept([ticket(12, "k1")])
    await delivery.wait_idle()
    assert len(h.posts(ok=False)) == 1 and len(h.posts()) == 1
    assert any(6 < s <= 7.01 for s in h.sleeps)


@pytest.mark.parametrize("breakage", ["archived", "removed"])
async def test_a_channel_that_cant_be_posted_to_is_paused_and_reported_once(
    h: Harness, breakage: str
) -> None:
    sub = await h.subscribe("C0002")
    other = await h.subscribe(GENERAL)
    if breakage == "archived":
        h.slack.archive_channel(TEAM, "C0002")
    else:
        h.slack.remove_bot(TEAM, "C0002")
    delivery = h.delivery()
    await delivery.accept([ticket(1, "k1"), ticket(2, "k2")])
    await delivery.wait_idle()
    code = "is_archived" if breakage == "archived" else "not_in_channel"
    assert h.reports == [("C0002", code, [sub.id])]
    paused = await SubscriptionStore(h.db).get(TEAM, sub.id)
    assert paused is not None and paused.paused_reason == code
    assert [c.params["channel"] for c in h.posts()] == [GENERAL, GENERAL]
    # Later events skip the paused channel: no new attempt, no second report.
    await delivery.accept([ticket(3, "k3")])
    await delivery.wait_idle()
    assert len(h.reports) == 1
    assert [c.params["channel"] for c in h.slack.calls_to("chat.postMessage")].count("C0002") == 1
    assert (await SubscriptionStore(h.db).get(TEAM, other.id)).paused_at is None  # type: ignore[union-attr]


class Crash(BaseException):
    """The process dies (nothing after it runs)."""


class CrashAfterSlack(DeliveryStore):
    """Slack accepted the message, then the process died before recording it."""

    async def delivered(self, row_ids: Any, *, thread: Any = None) -> None:
        raise Crash


class CrashBeforeSlack(DeliveryStore):
    """The row was claimed, then the process died before sending it."""

    async def claim(self, row_ids: Any, *, at: Any = None) -> datetime:
        await super().claim(row_ids, at=at)
        raise Crash


@pytest.mark.parametrize("threaded", [False, True])
async def test_a_crash_after_slack_accepted_never_posts_twice(h: Harness, threaded: bool) -> None:
    await h.subscribe(GENERAL)
    if threaded:
        first = h.delivery()
        await first.accept([ticket(12, "k0")])
        await first.wait_idle()
    crashing = h.delivery(CrashAfterSlack(h.db))
    crashing.set_scheduler(_no_schedule)
    await crashing.accept([ticket(12, "k1", "status", {"status": ("1", "2")}, status="2")])
    with pytest.raises(Crash):
        await crashing.deliver_channel(TEAM, None, GENERAL)
    before = len(h.posts())
    rows: list[OutboxRow] = await DeliveryStore(h.db).pending(TEAM, GENERAL)
    assert len(rows) == 1 and rows[0].claimed_at is not None  # in flight when it died
    # The restart finds the message in Slack by its metadata and records it.
    restarted = h.delivery()
    assert await restarted.sweep() == 1
    await restarted.wait_idle()
    assert len(h.posts()) == before
    assert await DeliveryStore(h.db).pending(TEAM, GENERAL) == []
    history = "conversations.replies" if threaded else "conversations.history"
    assert h.slack.calls_to(history)[-1].params["include_all_metadata"] in (True, "1", "true")
    # The record's thread is known: the next event goes in it.
    await restarted.accept([ticket(12, "k2", "priority", {"priority": ("2", "3")})])
    await restarted.wait_idle()
    assert h.posts()[-1].params.get("thread_ts") is not None


async def test_a_crash_before_slack_got_it_posts_once_on_restart(h: Harness) -> None:
    await h.subscribe(GENERAL)
    crashing = h.delivery(CrashBeforeSlack(h.db))
    crashing.set_scheduler(_no_schedule)
    await crashing.accept([ticket(12, "k1")])
    with pytest.raises(Crash):
        await crashing.deliver_channel(TEAM, None, GENERAL)
    assert h.posts() == []
    restarted = h.delivery()
    await restarted.sweep()
    await restarted.wait_idle()
    assert len(h.posts()) == 1


async def test_lookup_notices_are_batched_into_one_message(h: Harness) -> None:
    await h.subscribe("C0002", kind="lookups")
    delivery = h.delivery()
    delivery.set_scheduler(_no_schedule)
    for i in range(5):
        delivery.notify_later(TEAM, None, GENERAL, f"<@U0001> looked up customer *{i}*")
    await delivery.wait_posted()
    await delivery.deliver_channel(TEAM, None, GENERAL)
    await delivery.deliver_channel(TEAM, None, "C0002")
    posts = h.posts()
    assert [p.params["channel"] for p in posts] == [GENERAL, "C0002"]
    assert posts[0].params["text"].count("looked up customer") == 5


async def _no_schedule(team_id: str, enterprise_id: str | None, channel_id: str) -> None:
    return None


async def test_a_rate_limited_search_is_retried_and_still_posts_once(h: Harness) -> None:
    await h.subscribe(GENERAL)
    crashing = h.delivery(CrashAfterSlack(h.db))
    crashing.set_scheduler(_no_schedule)
    await crashing.accept([ticket(12, "k1")])
    with pytest.raises(Crash):
        await crashing.deliver_channel(TEAM, None, GENERAL)
    h.slack.fail_next("conversations.history", status=429, retry_after=9)
    restarted = h.delivery()
    restarted.set_scheduler(_no_schedule)
    await restarted.deliver_channel(TEAM, None, GENERAL)
    assert 9 in h.sleeps
    assert len(h.slack.calls_to("conversations.history")) == 2
    assert len(h.posts()) == 1
    assert await DeliveryStore(h.db).pending(TEAM, GENERAL) == []


async def test_an_install_without_history_scopes_is_not_stuck(db: Database, h: Harness) -> None:
    with running_slack_standin(
        teams={TEAM: TOKEN}, scopes="commands,chat:write,users:read"
    ) as old_install:
        h.slack = old_install
        await h.subscribe(GENERAL)
        crashing = h.delivery(CrashAfterSlack(h.db))
        crashing.set_scheduler(_no_schedule)
        await crashing.accept([ticket(12, "k1")])
        with pytest.raises(Crash):
            await crashing.deliver_channel(TEAM, None, GENERAL)
        restarted = h.delivery()
        restarted.set_scheduler(_no_schedule)
        await restarted.deliver_channel(TEAM, None, GENERAL)
        # It couldn't look, so it sent again rather than keep the channel waiting for ever.
        assert not h.slack.calls_to("conversations.history")[0].ok
        assert await DeliveryStore(h.db).pending(TEAM, GENERAL) == []


async def test_a_burst_of_long_notices_fills_messages_up_to_slacks_limit(h: Harness) -> None:
    delivery = h.delivery()
    delivery.set_scheduler(_no_schedule)
    lines = [f"{n:03d} " + "y" * 1996 for n in range(50)]  # 2000 characters each
    for line in lines:
        await delivery.notice(TEAM, None, [GENERAL], line)
    await delivery.deliver_channel(TEAM, None, GENERAL)
    posts = h.posts()
    assert [p.params["text"].count("\n") + 1 for p in posts] == [19, 19, 12]
    assert "\n".join(p.params["text"] for p in posts).split("\n") == lines
    assert len([s for s in h.sleeps if s > 0.5]) == 2  # paced like any post


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "4"}, 4.0),
        ({"RETRY-AFTER": "2.5"}, 2.5),
        ({"Retry-After": "soon"}, 1.0),
        ({"Retry-After": "-3"}, 1.0),
        ({"Retry-After": "nan"}, 1.0),
        ({"Retry-After": "86400"}, 120.0),
        ({}, 1.0),
    ],
)
def test_retry_after_values(headers: dict[str, str], expected: float) -> None:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="chat.postMessage",
        req_args={},
        data={"ok": False, "error": "ratelimited"},
        headers=headers,
        status_code=429,
    )
    assert _retry_after(SlackApiError("ratelimited", response)) == expected


async def test_without_a_job_runner_one_task_delivers_a_channel(h: Harness) -> None:
    await h.subscribe(GENERAL)
    delivery = h.delivery()
    await asyncio.gather(*(delivery.accept([ticket(n, f"k{n}")]) for n in range(1, 6)))
    await delivery.wait_idle()
    ids = [c.params["metadata"]["event_payload"]["delivery"] for c in h.posts()]
    assert len(ids) == 5 and len(set(ids)) == 5


async def test_another_bots_message_with_the_same_id_is_not_taken_for_ours(h: Harness) -> None:
    await h.subscribe(GENERAL)
    crashing = h.delivery(CrashBeforeSlack(h.db))
    crashing.set_scheduler(_no_schedule)
    await crashing.accept([ticket(12, "k1")])
    with pytest.raises(Crash):
        await crashing.deliver_channel(TEAM, None, GENERAL)
    (row,) = await DeliveryStore(h.db).pending(TEAM, GENERAL)
    # Another pmp-bot (its own database) posts in the same channel with the same row id.
    other = AsyncWebClient(token=TOKEN, base_url=h.slack.api_url, session=h.http)
    await other.chat_postMessage(
        channel=GENERAL,
        text="someone else's",
        metadata={"event_type": "pmp_event", "event_payload": {"delivery": row.id, "event": "x"}},
    )
    restarted = h.delivery()
    restarted.set_scheduler(_no_schedule)
    await restarted.deliver_channel(TEAM, None, GENERAL)
    ours = [p for p in h.posts() if p.params["metadata"]["event_payload"].get("event") == "k1"]
    assert len(ours) == 1

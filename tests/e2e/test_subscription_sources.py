"""Where subscription events come from, end to end: a record changed on PMP's side of the
sandbox (``POST /_sandbox/changes``, as a PMP user's edit) reaches the subscribed channel of the
Slack stand-in, by polling PMP 2.0.8 and by PMP 3.x's signed webhooks over the bot's real
HTTP front door (good, bad, stale and replayed signatures), with the catch-up read and the
webhook agreeing on one post per change."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.blocks.ids import Action
from bot.blocks.subscriptions import SubscriptionIds
from bot.console.slack_standin import RecordedCall, RunningSlackStandin
from bot.pmp import PmpClient
from bot.pmp.webhooks import sign
from bot.pmp_pool import WorkspaceKey
from bot.run.embedded import RunningBot, running_bot
from bot.sandbox import running_sandbox
from bot.sandbox import schema as sandbox_schema
from bot.subscriptions.webhooks import EventSources
from tests.e2e.conftest import OWNER_A, SIGNING_SECRET, TEAM_A, bot_settings
from tests.e2e.slack_client import SlackSender
from tests.e2e.surfaces import Explorer, Surface, controls_of

GENERAL = "<#C0001|general>"


def control(surface: Surface, action_id: str) -> Any:
    return next(c for c in controls_of(surface) if c.action_id == action_id)


def sources(bot: RunningBot) -> EventSources:
    assert bot.services.sources is not None
    return bot.services.sources


async def client_of(bot: RunningBot) -> PmpClient:
    workspace = await bot.services.workspaces.get(TEAM_A)
    assert workspace is not None
    client = await bot.services.pmp_pool.client_for(
        WorkspaceKey(TEAM_A), workspace.credentials_version
    )
    assert client is not None
    return client


async def change(sandbox: Any, **body: Any) -> dict[str, Any]:
    """A change made in PMP's web UI."""
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        answer = await http.post(
            "/_sandbox/changes", json=body, headers={"authtoken": sandbox.token}
        )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def subscribe(sender: SlackSender, slack: RunningSlackStandin, text: str) -> None:
    since = len(slack.calls)
    response = await sender.command(f"subscribe {text}", team=TEAM_A, user=OWNER_A)
    assert response.status_code == 200
    reply = await slack.wait_for("response_url", since=since, timeout=15)
    assert "now gets" in json.dumps(reply.params)


def about(call: RecordedCall, ticket: int) -> bool:
    return call.params.get("channel") == "C0001" and f"#{ticket}" in json.dumps(call.params)


def posts_about(slack: RunningSlackStandin, ticket: int, since: int = 0) -> list[RecordedCall]:
    return [
        call
        for call in slack.calls_to("chat.postMessage")[since:]
        if call.ok
        and call.params.get("channel") == "C0001"
        and f"#{ticket}" in json.dumps(call.params)
    ]


async def test_a_change_in_pmp_2_reaches_the_channel_by_polling(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    await subscribe(sender, slack, f"{GENERAL} tickets")
    poller = sources(bot).poller
    # The first read is the baseline: nothing is posted for what PMP already had.
    posts = len(slack.calls_to("chat.postMessage"))
    assert await poller.poll_workspace(TEAM_A, None) is not None
    await bot.services.subscriptions.delivery.wait_idle()
    assert len(slack.calls_to("chat.postMessage")) == posts

    ticket = int(pmp.store.tickets()[0]["ticketid"])
    await change(pmp, kind="ticket", id=ticket, fields={"status": "4"})
    delay = await poller.poll_workspace(TEAM_A, None)
    # The workspace's interval (60 s by default), jittered.
    assert delay is not None and 54 <= delay <= 66
    card = await slack.wait_for(
        "chat.postMessage",
        lambda call: (
            call.params.get("channel") == "C0001" and f"#{ticket}" in json.dumps(call.params)
        ),
        timeout=15,
        since=posts,
    )
    assert card.ok
    # Read again, nothing changed: nothing more is posted.
    await poller.poll_workspace(TEAM_A, None)
    await bot.services.subscriptions.delivery.wait_idle()
    assert len(posts_about(slack, ticket, posts)) == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def pmp3() -> Iterator[Any]:
    with running_sandbox(api_version=3, webhooks_allow_loopback=True) as sandbox:
        yield sandbox


@pytest.fixture
async def webhooked(
    slack: RunningSlackStandin, pmp3: Any, tmp_path: Path, secret_key: str
) -> AsyncIterator[tuple[RunningBot, SlackSender]]:
    """The bot at a known public address, TEAM_A connected to a 3.x sandbox that may deliver
    webhooks to loopback, its channel C0001 subscribed to tickets."""
    port = _free_port()
    settings = bot_settings(
        slack,
        f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        secret_key,
        pmp_bot_public_url=f"http://127.0.0.1:{port}",
    )
    async with running_bot(settings, port=port) as bot, httpx.AsyncClient(timeout=10) as http:
        sender = SlackSender(
            events_url=bot.events_url, signing_secret=SIGNING_SECRET, standin=slack, http=http
        )
        await bot.services.workspaces.save_credentials(
            team_id=TEAM_A,
            enterprise_id=None,
            base_url=pmp3.base_url,
            token=pmp3.token,
            connected_by=OWNER_A,
        )
        await subscribe(sender, slack, f"{GENERAL} tickets")
        yield bot, sender


async def pmp_webhooks(sandbox: Any) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        answer = await http.get("/api/webhooks", headers={"authtoken": sandbox.token})
    if answer.status_code == 404:
        return []
    body = answer.json()
    rows = body.get("data", body) if isinstance(body, dict) else body
    return list(rows)


async def assert_webhook_gone(sandbox: Any, hook: dict[str, Any]) -> None:
    """No webhook registered in PMP any more, and the address the old one called answers
    404 (even to a post that looks signed)."""
    assert await pmp_webhooks(sandbox) == []
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            hook["url"], content=b"{}", headers={"X-Perfex-Signature": "t=1,v1=" + "0" * 64}
        )
    assert answer.status_code == 404


async def deliveries(sandbox: Any) -> list[dict[str, Any]]:
    await asyncio.to_thread(sandbox.app.webhooks.wait_idle, 15)
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        answer = await http.get(
            "/_sandbox/webhooks/deliveries", headers={"authtoken": sandbox.token}
        )
    found: list[dict[str, Any]] = answer.json()["deliveries"]
    return found


async def resend(sandbox: Any, delivery_id: int, **how: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as http:
        answer = await http.post(
            f"/_sandbox/webhooks/deliveries/{delivery_id}/resend",
            json=how,
            headers={"authtoken": sandbox.token},
        )
    assert answer.status_code == 200, answer.text
    sent: dict[str, Any] = answer.json()["delivery"]
    return sent


async def settled(bot: RunningBot) -> None:
    await sources(bot).wait_idle()
    await bot.services.subscriptions.delivery.wait_idle()


async def test_pmp_3_gets_one_webhook_kept_as_registered(
    webhooked: tuple[RunningBot, SlackSender], pmp3: Any
) -> None:
    bot, _ = webhooked
    delay = await sources(bot).poller.poll_workspace(TEAM_A, None)
    # With a webhook, the whole list is read only as a slow catch-up (15 min, jittered).
    assert delay is not None and 800 <= delay <= 1000
    [hook] = await pmp_webhooks(pmp3)
    endpoint = await sources(bot).webhooks.endpoints.get(TEAM_A, None)
    assert endpoint is not None
    assert hook["url"] == f"{bot.url}/pmp/webhooks/{endpoint.path_id}"
    assert hook["has_secret"] is True and str(hook["active"]) == "1"
    # The catalogue's ticket events, in the module's spelling; nothing of other kinds.
    assert "ticket_status_changed" in hook["events"]
    assert all(name.startswith("ticket_") for name in hook["events"])

    await sources(bot).poller.poll_workspace(TEAM_A, None)
    assert [row["id"] for row in await pmp_webhooks(pmp3)] == [hook["id"]]

    # Someone changes its address in PMP: the next read puts it back.
    async with httpx.AsyncClient(base_url=pmp3.base_url) as http:
        headers = {"authtoken": pmp3.token}
        changed = await http.put(
            f"/api/webhooks/{hook['id']}",
            json={"url": "http://127.0.0.1:9/elsewhere"},
            headers=headers,
        )
        assert changed.status_code == 200, changed.text
        await sources(bot).poller.poll_workspace(TEAM_A, None)
        [again] = await pmp_webhooks(pmp3)
        assert (again["id"], again["url"]) == (hook["id"], hook["url"])
        # Someone deletes it in PMP: the next read registers it anew.
        gone = await http.delete(f"/api/webhooks/{hook['id']}", headers=headers)
        assert gone.status_code == 200, gone.text
    await sources(bot).poller.poll_workspace(TEAM_A, None)
    [renewed] = await pmp_webhooks(pmp3)
    assert renewed["url"] == hook["url"] and renewed["id"] != hook["id"]

    # Forgotten (disconnect, uninstall): removed from PMP, its address answers 404.
    await sources(bot).forget(TEAM_A, None)
    await assert_webhook_gone(pmp3, hook)


async def test_a_change_in_pmp_3_reaches_the_channel_by_webhook_once(
    webhooked: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp3: Any
) -> None:
    bot, _ = webhooked
    await sources(bot).poller.poll_workspace(TEAM_A, None)  # registers, and the baseline
    ticket = int(pmp3.store.tickets()[0]["ticketid"])
    since = len(slack.calls)
    await change(pmp3, kind="ticket", id=ticket, fields={"status": "4"})
    [delivered] = [d for d in await deliveries(pmp3) if d["event"] == "ticket_status_changed"]
    assert delivered["status"] == "delivered"
    assert delivered["attempts"][-1]["status_code"] == 200
    card = await slack.wait_for(
        "chat.postMessage",
        lambda call: (
            call.params.get("channel") == "C0001" and f"#{ticket}" in json.dumps(call.params)
        ),
        timeout=15,
        since=since,
    )
    assert card.ok
    await settled(bot)
    posts = len(slack.calls_to("chat.postMessage"))
    # The catch-up read sees the same change: it makes no event of it again.
    catch_up = await sources(bot).poller.detector.poll(TEAM_A, None, await client_of(bot), "ticket")
    assert (catch_up.baseline, catch_up.events) == (False, 0)

    # A change PMP sent no webhook for (an API edit of the priority fires no bridged hook)
    # is found by the catch-up read, once.
    since = len(slack.calls)
    pmp3.store.update(sandbox_schema.TICKETS, str(ticket), {"priority": "1"})
    await sources(bot).poller.poll_workspace(TEAM_A, None)
    line = await slack.wait_for(
        "chat.postMessage", lambda call: about(call, ticket), timeout=15, since=since
    )
    assert line.ok and line.params.get("thread_ts")
    await settled(bot)
    assert len(slack.calls_to("chat.postMessage")) == posts + 1


async def test_webhook_signatures_over_the_front_door(
    webhooked: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp3: Any
) -> None:
    bot, _ = webhooked
    await sources(bot).poller.poll_workspace(TEAM_A, None)
    endpoint = await sources(bot).webhooks.endpoints.get(TEAM_A, None)
    assert endpoint is not None
    url = f"{bot.url}/pmp/webhooks/{endpoint.path_id}"
    secret = endpoint.secret.get_secret_value()
    ticket = int(pmp3.store.tickets()[0]["ticketid"])

    async def deliver(body: bytes, signature: str) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", "X-Perfex-Signature": signature},
            )

    async def next_post(since: int) -> RecordedCall:
        return await slack.wait_for(
            "chat.postMessage", lambda call: about(call, ticket), timeout=15, since=since
        )

    # Changed in PMP's database without a webhook: only a delivery can tell the bot.
    pmp3.store.update(sandbox_schema.TICKETS, str(ticket), {"status": "2"})
    now = int(time.time())
    body = json.dumps(
        {"event": "ticket_status_changed", "timestamp": now, "data": {"id": str(ticket)}}
    ).encode()
    since = len(slack.calls)
    # Bad: another secret, a changed body, no signature, a stale or a future timestamp.
    assert (await deliver(body, sign("not the secret", now, body))).status_code == 401
    assert (await deliver(body + b" ", sign(secret, now, body))).status_code == 401
    assert (await deliver(body, "")).status_code == 401
    assert (await deliver(body, sign(secret, now - 400, body))).status_code == 401
    assert (await deliver(body, sign(secret, now + 400, body))).status_code == 401
    await settled(bot)
    assert await sources(bot).webhooks.endpoints.due_work(older_than=timedelta(0)) == []

    # Good: taken, answered at once, and the change posted (the ticket's card).
    good = sign(secret, now, body)
    answer = await deliver(body, good)
    assert answer.status_code == 200 and answer.json()["outcome"] == "taken"
    card = await next_post(since)
    assert card.ok and not card.params.get("thread_ts")

    # Replayed: the same signature again, or the same body signed again later.
    since = len(slack.calls)
    again = await deliver(body, good)
    assert again.status_code == 200 and again.json()["outcome"] == "replayed"
    later = await deliver(body, sign(secret, now + 2, body))
    assert later.json()["outcome"] == "replayed"
    # PMP's own deliveries: replayed verbatim (answered, dropped), or signed again stale.
    await change(pmp3, kind="ticket", id=ticket, fields={"status": "3"})
    [real] = [d for d in await deliveries(pmp3) if d["event"] == "ticket_status_changed"]
    assert real["attempts"][-1]["status_code"] == 200
    replay = await resend(pmp3, real["id"], verbatim=True)
    assert replay["attempts"][-1]["status_code"] == 200
    stale = await resend(pmp3, real["id"], timestamp=int(time.time()) - 3600)
    assert stale["attempts"][-1]["status_code"] == 401
    # Posts come in order per channel: the next one is PMP's real change (status 3), in the
    # thread, and nothing before it repeats the first.
    line = await next_post(since)
    assert line.params.get("thread_ts")
    await settled(bot)
    assert len(posts_about(slack, ticket)) == 2
    # A body too big for a delivery is refused before it is read.
    assert (await deliver(b"x" * 300_000, good)).status_code == 413


async def test_disconnecting_removes_the_webhook_from_pmp(
    webhooked: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp3: Any
) -> None:
    bot, sender = webhooked
    await sources(bot).poller.poll_workspace(TEAM_A, None)
    [hook] = await pmp_webhooks(pmp3)
    since = len(slack.calls)
    await sender.command("disconnect", team=TEAM_A, user=OWNER_A)
    await slack.wait_for("response_url", since=since)
    since = len(slack.calls)
    action = {
        "action_id": Action.DISCONNECT_CONFIRMED,
        "block_id": "b",
        "value": "x",
        "type": "button",
    }
    payload = sender.block_actions(team=TEAM_A, user=OWNER_A, action=action)
    assert (await sender.interaction(payload)).status_code == 200
    await slack.wait_for("response_url", since=since)
    assert await sources(bot).webhooks.endpoints.get(TEAM_A, None) is None
    await assert_webhook_gone(pmp3, hook)


async def test_a_change_the_bot_made_is_looked_at_without_waiting_for_a_poll(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    await subscribe(sender, slack, f"{GENERAL} tickets")
    await sources(bot).poller.poll_workspace(TEAM_A, None)  # the baseline
    ticket = int(pmp.store.tickets()[0]["ticketid"])
    since = len(slack.calls)
    # As a ticket action on a card does: PMP changed, then delivery told.
    pmp.store.update(sandbox_schema.TICKETS, str(ticket), {"status": "5"})
    await bot.services.subscriptions.delivery.record_changed(TEAM_A, None, "ticket", ticket)
    card = await slack.wait_for(
        "chat.postMessage", lambda call: about(call, ticket), timeout=15, since=since
    )
    assert card.ok
    # The next read finds nothing new: the change was made into an event once.
    await sources(bot).wait_idle()
    again = await sources(bot).poller.detector.poll(TEAM_A, None, await client_of(bot), "ticket")
    assert (again.baseline, again.events) == (False, 0)


async def eventually(check: Any, timeout: float = 15.0) -> None:
    """Until ``check()`` (a coroutine function) is true: work the bot was asked to do at
    once (a poll job) without a test calling it."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "not done in time"
        await asyncio.sleep(0.05)


async def test_a_kind_nobody_subscribes_to_any_more_starts_over_with_a_new_baseline(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    detector = sources(bot).poller.detector
    await subscribe(sender, slack, f"{GENERAL} tickets")
    await subscribe(sender, slack, f"{GENERAL} leads")
    await sources(bot).poller.poll_workspace(TEAM_A, None)  # both baselines
    assert await detector.kinds_kept(TEAM_A, None) == {"ticket", "lead"}

    since = len(slack.calls)
    await sender.command(f"unsubscribe {GENERAL} tickets", team=TEAM_A, user=OWNER_A)
    await slack.wait_for("response_url", since=since, timeout=15)

    # The unsubscribe had PMP read at once: tickets are forgotten, leads are still watched.
    async def tickets_forgotten() -> bool:
        return await detector.kinds_kept(TEAM_A, None) == {"lead"}

    await eventually(tickets_forgotten)

    # A ticket changes while nobody listens; then the channel subscribes again. Its first
    # read is a new baseline, so that old change is not posted as news.
    ticket = int(pmp.store.tickets()[0]["ticketid"])
    await change(pmp, kind="ticket", id=ticket, fields={"status": "4"})
    posts = len(slack.calls_to("chat.postMessage"))
    await subscribe(sender, slack, f"{GENERAL} tickets")
    await sources(bot).poller.poll_workspace(TEAM_A, None)
    await settled(bot)
    assert posts_about(slack, ticket, posts) == []

    # A change from now on is.
    await change(pmp, kind="ticket", id=ticket, fields={"status": "2"})
    await sources(bot).poller.poll_workspace(TEAM_A, None)
    card = await slack.wait_for(
        "chat.postMessage", lambda call: about(call, ticket), timeout=15, since=since
    )
    # From the state the new baseline saw (status 4, On Hold) to the new one.
    assert card.ok and "On Hold \u2192 *In progress*" in card.params["text"]
    await settled(bot)
    assert len(posts_about(slack, ticket, posts)) == 1


async def test_the_last_subscription_going_removes_the_webhook_from_pmp(
    webhooked: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp3: Any
) -> None:
    bot, sender = webhooked
    await sources(bot).poller.poll_workspace(TEAM_A, None)
    [hook] = await pmp_webhooks(pmp3)
    explorer = Explorer(bot, sender, slack, TEAM_A)
    [listing] = await explorer.command("subscriptions", OWNER_A)
    [prompt] = await explorer.press(listing, control(listing, SubscriptionIds.REMOVE), OWNER_A)
    [after] = await explorer.press(
        prompt, control(prompt, SubscriptionIds.REMOVE_CONFIRMED), OWNER_A
    )
    assert "Removed: tickets" in json.dumps(after.blocks)

    async def watch_ended() -> bool:
        return await sources(bot).poller.detector.kinds_kept(TEAM_A, None) == set()

    # Removing the channel's last subscription had PMP read at once: the webhook left PMP,
    # its address was forgotten, and so was what was seen of the tickets.
    await eventually(watch_ended)
    assert await sources(bot).webhooks.endpoints.get(TEAM_A, None) is None
    await assert_webhook_gone(pmp3, hook)
    # No further reads of a workspace with nothing subscribed.
    assert await sources(bot).poller.poll_workspace(TEAM_A, None) is None

    # Subscribing again registers a webhook anew, at once.
    await subscribe(sender, slack, f"{GENERAL} tickets")

    async def webhook_back() -> bool:
        return len(await pmp_webhooks(pmp3)) == 1

    await eventually(webhook_back)
    assert not explorer.problems, "\n".join(explorer.problems)

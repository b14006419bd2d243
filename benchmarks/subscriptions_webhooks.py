"""Subscriptions benchmark (2): PMP 3.x webhooks at a steady rate, from delivery to Slack.

Run: .venv/bin/python benchmarks/subscriptions_webhooks.py [--rate 50] [--seconds 60]
     [--channels 100]

The PMP sandbox (3.x) runs in its own process with ``--channels`` customers, one ticket
each; `python -m bot serve` runs in another, one workspace whose ``--channels`` channels each
subscribe to the tickets of one customer (so each event belongs to exactly one channel). The
Slack stand-in runs in this process. This script plays PMP's webhook sender: ``--rate``
times a second it changes a ticket's status in the sandbox (round robin over the tickets, each
change a new status) and sends the signed delivery PMP would (``X-Perfex-Signature`` with the
workspace's secret) to the bot's webhook address, timing the bot's answer. Then it waits for
the posts and checks every event reached its channel exactly once.

Figures (nothing is asserted): webhook ack p50/p99 (target p99 <= 50 ms), events sent vs
posts in Slack (target: each exactly once), event-to-post p50 and p95 (from sending the
delivery to the stand-in receiving the post; target p50 <= 1 s where Slack's pace of about
one message a second per channel allows), and the bot's CPU over the run.

`--serve-sandbox PORT` is the sandbox process itself (used by the script).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from benchmarks.load import percentile  # noqa: E402
from benchmarks.run_all import Process, free_port, started  # noqa: E402
from benchmarks.servers import send_json, serve_app  # noqa: E402
from benchmarks.subscriptions_polling import BOT_TOKEN, PYTHON, SIGNING_SECRET  # noqa: E402
from bot.console.slack_standin import running_slack_standin  # noqa: E402
from bot.crypto import TokenCipher  # noqa: E402
from bot.pmp import AddressPolicy, PmpClient  # noqa: E402
from bot.pmp.webhooks import sign  # noqa: E402
from bot.sandbox.auth import DEFAULT_SANDBOX_TOKEN  # noqa: E402
from bot.storage import Database, WorkspaceStore  # noqa: E402
from bot.storage.fingerprints import FingerprintStore  # noqa: E402
from bot.storage.subscriptions import (  # noqa: E402
    SubscriptionFilters,
    SubscriptionStore,
    events_table,
)
from bot.storage.webhook_endpoints import WebhookEndpointStore  # noqa: E402
from bot.subscriptions.polling import ChangeDetector  # noqa: E402

TEAM = "T0001"
TARGET_ACK_P99_MS = 50.0
TARGET_POST_P50_S = 1.0


# ------------------------------------------------------------------------ sandbox process


def serve_sandbox(port: int, customers: int) -> None:
    from bot.sandbox.app import SandboxApp
    from bot.sandbox.changes import apply_change
    from bot.sandbox.store import SandboxStore

    store = SandboxStore(":memory:", seed=True)
    tickets: list[dict[str, int]] = []
    for customer in store.add_bulk_customers(customers):
        contact = store.customer_contacts(str(customer))[0]
        made = apply_change(
            store,
            {
                "kind": "ticket",
                "action": "create",
                "fields": {"subject": f"Bench {customer}", "contactid": str(contact["id"])},
            },
        )
        tickets.append({"customer": customer, "ticket": int(made.record_id)})
    sandbox = SandboxApp(store, token=DEFAULT_SANDBOX_TOKEN, api_version=3)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/tickets":
            await send_json(send, tickets)
            return
        await sandbox(scope, receive, send)

    serve_app(app, port, limit_concurrency=2000)


# ----------------------------------------------------------------------------- the bench


async def prepare(
    database_url: str, secret_key: str, sandbox_url: str, pairs: list[dict[str, int]]
) -> tuple[str, str]:
    """The workspace connected, one channel per customer, the tickets' baseline taken (as
    the bot's first read would), and the webhook endpoint made: (path id, secret)."""
    database = await Database.connect(database_url)
    cipher = TokenCipher.from_keys([secret_key])
    try:
        await database.create_schema()
        workspaces = WorkspaceStore(database, cipher)
        await workspaces.save_credentials(TEAM, None, sandbox_url, DEFAULT_SANDBOX_TOKEN, "U0001")
        # Only the webhooks tell the bot about changes during the run.
        await workspaces.set_options(TEAM, None, poll_interval_seconds=3600)
        subscriptions = SubscriptionStore(database)
        for index, pair in enumerate(pairs):
            await subscriptions.add(
                TEAM,
                None,
                f"C{index + 1000}",
                "tickets",
                SubscriptionFilters(customer_id=pair["customer"]),
                created_by="U0001",
            )

        async def nothing(events: Any) -> int:
            return 0

        detector = ChangeDetector(FingerprintStore(database), nothing)
        async with PmpClient(
            base_url=sandbox_url,
            token=DEFAULT_SANDBOX_TOKEN,
            address_policy=AddressPolicy(allow_private=True),
        ) as pmp:
            await detector.poll(TEAM, None, pmp, "ticket")
        endpoint = await WebhookEndpointStore(database, cipher).ensure(TEAM, None)
        return endpoint.path_id, endpoint.secret.get_secret_value()
    finally:
        await database.dispose()


async def accepted_events(database_url: str) -> int:
    """Events kept by delivery (changes of one ticket close together may make one event)."""
    database = await Database.connect(database_url)
    try:
        async with database.read() as conn:
            found = await conn.scalar(select(func.count()).select_from(events_table))
        return int(found or 0)
    finally:
        await database.dispose()


async def bench(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="pmp-bot-webhooks-"))
    secret_key = Fernet.generate_key().decode()
    database_url = args.database_url or f"sqlite:///{workdir / 'bot.sqlite3'}"
    sandbox_port, bot_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    print(
        f"{args.rate} webhook events/s for {args.seconds} s across {args.channels} channels "
        "(one workspace, one customer's tickets per channel)"
    )
    sandbox_args = [
        PYTHON,
        str(Path(__file__).resolve()),
        "--serve-sandbox",
        str(sandbox_port),
        "--channels",
        str(args.channels),
    ]
    channels = [
        {"id": f"C{index + 1000}", "name": f"bench-{index}"} for index in range(args.channels)
    ]
    try:
        with (
            started("sandbox", sandbox_args, sandbox_port, workdir, ready_within=60),
            running_slack_standin(teams={TEAM: BOT_TOKEN}) as slack,
            httpx.Client() as sync_http,
        ):
            for channel in channels:
                slack.add_channel(TEAM, channel["id"], channel["name"])
            pairs: list[dict[str, int]] = sync_http.get(f"{sandbox_url}/_bench/tickets").json()
            path_id, secret = await prepare(database_url, secret_key, sandbox_url, pairs)
            env = {
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_API_URL": slack.api_url,
                "DATABASE_URL": database_url,
                "PMP_BOT_SECRET_KEY": secret_key,
                "PMP_BOT_ALLOW_PRIVATE_PMP": "true",
                "PMP_BOT_DATA_DIR": str(workdir / "data"),
                "PORT": str(bot_port),
                "LOG_LEVEL": "WARNING",
            }
            serve = [PYTHON, "-m", "bot", "serve"]
            url = f"http://127.0.0.1:{bot_port}/pmp/webhooks/{path_id}"
            with started("bot", serve, bot_port, workdir, env, ready_within=60) as bot:
                await run(args, slack, sandbox_url, url, secret, pairs, bot)
            print(f"events the bot made of them: {await accepted_events(database_url)}")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def run(
    args: argparse.Namespace,
    slack: Any,
    sandbox_url: str,
    url: str,
    secret: str,
    pairs: list[dict[str, int]],
    bot: Process,
) -> None:
    channel_of = {pair["ticket"]: f"C{index + 1000}" for index, pair in enumerate(pairs)}
    status_of = dict.fromkeys(channel_of, 1)
    sent: dict[str, list[float]] = {channel: [] for channel in channel_of.values()}
    acks: list[float] = []
    changes: list[float] = []  # how long the sandbox took to make each change
    refused = 0
    posts_before = len(slack.calls_to("chat.postMessage"))
    cpu_before = bot.cpu_seconds()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    tickets = list(channel_of)
    total = int(args.rate * args.seconds)

    async with (
        httpx.AsyncClient(base_url=sandbox_url, limits=limits, timeout=30) as pmp,
        httpx.AsyncClient(limits=limits, timeout=30) as hooks,
    ):

        async def one(number: int) -> None:
            nonlocal refused
            ticket = tickets[number % len(tickets)]
            status_of[ticket] = status_of[ticket] % 5 + 1
            asked = time.monotonic()
            changed = await pmp.post(
                "/_sandbox/changes",
                json={"kind": "ticket", "id": ticket, "fields": {"status": str(status_of[ticket])}},
                headers={"authtoken": DEFAULT_SANDBOX_TOKEN},
            )
            changed.raise_for_status()
            changes.append(time.monotonic() - asked)
            now = int(time.time())
            body = json.dumps(
                {
                    "event": "ticket_status_changed",
                    "timestamp": now,
                    "data": {"id": str(ticket), "status": str(status_of[ticket])},
                    "n": number,
                },
                separators=(",", ":"),
            ).encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Perfex-CRM-API/3.0",
                "X-Perfex-Event": "ticket_status_changed",
                "X-Perfex-Signature": sign(secret, now, body),
            }
            started = time.monotonic()
            answer = await hooks.post(url, content=body, headers=headers)
            acks.append(time.monotonic() - started)
            if answer.status_code != 200:
                refused += 1
            sent[channel_of[ticket]].append(started)

        tasks = []
        began = time.monotonic()
        for number in range(total):
            due = began + number / args.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(number)))
        await asyncio.gather(*tasks)
        sending = time.monotonic() - began

    expected = sum(len(times) for times in sent.values())
    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline:
        if len(slack.calls_to("chat.postMessage")) - posts_before >= expected:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)  # anything more (a repeat) would arrive now
    cpu = bot.cpu_seconds() - cpu_before
    took = time.monotonic() - began
    posts: dict[str, list[float]] = {channel: [] for channel in sent}
    for call in slack.calls_to("chat.postMessage")[posts_before:]:
        channel = call.params.get("channel")
        if call.ok and channel in posts:
            posts[channel].append(call.at)
    delays: list[float] = []
    missing = extra = 0
    for channel, times in sent.items():
        got = sorted(posts[channel])
        missing += max(len(times) - len(got), 0)
        extra += max(len(got) - len(times), 0)
        # Posts in a channel come in the order of its events.
        delays += [post - event for event, post in zip(sorted(times), got, strict=False)]
    print(
        f"sent {expected} deliveries in {sending:.1f} s ({expected / sending:.1f}/s), "
        f"{refused} not answered 200"
    )
    print(
        f"webhook ack: p50 {percentile(acks, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(acks, 0.99) * 1000:.1f} ms, max {max(acks) * 1000:.1f} ms "
        f"(target p99 <= {TARGET_ACK_P99_MS:.0f} ms)"
    )
    print(
        f"the sandbox (PMP) making a change: p50 {percentile(changes, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(changes, 0.99) * 1000:.0f} ms (a busy PMP delays the bot's reads too)"
    )
    got_total = sum(len(times) for times in posts.values())
    print(
        f"posts in Slack: {got_total} for {expected} events; missing {missing}, "
        f"repeated {extra} (target: every event exactly once)"
    )
    print(
        f"event to post: p50 {percentile(delays, 0.5):.2f} s, "
        f"p95 {percentile(delays, 0.95):.2f} s, "
        f"max {max(delays, default=float('nan')):.2f} s "
        f"(target p50 <= {TARGET_POST_P50_S:.0f} s; "
        f"{expected / len(sent) / args.seconds:.2f} events/s per channel)"
    )
    rss = bot.memory_kb()["VmRSS"] / 1024
    print(f"bot CPU over {took:.0f} s: {cpu / took:.2f} core; RSS at the end {rss:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--drain", type=float, default=180.0)
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    parser.add_argument(
        "--database-url", default=None, help="an empty PostgreSQL database (default: SQLite)"
    )
    parser.add_argument("--serve-sandbox", type=int, default=None, metavar="PORT")
    args = parser.parse_args()
    if args.serve_sandbox is not None:
        serve_sandbox(args.serve_sandbox, args.channels)
        return
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(143))
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()

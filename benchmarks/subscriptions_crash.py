"""Subscriptions benchmark (3): kill -9 in the middle of a burst, and two instances.

Run: .venv/bin/python benchmarks/subscriptions_crash.py [--events 300] [--channels 20]
     [--kills 3] [--database-url postgresql://... [--instances 2]]

The Slack stand-in runs in this process (each answer takes ``--latency`` seconds, so a kill
often lands while Slack is taking a post). pmp-bot's services run in child processes on one
database: the first accepts a burst of ``--events`` ticket events spread over ``--channels``
subscribed channels (each event belongs to one channel; a few tickets per channel, so most
events go to a thread) and starts delivering. This script then kills a delivering child with
SIGKILL ``--kills`` times at random moments and starts a new one each time; with
``--instances 2`` (PostgreSQL) two children deliver side by side and one of them is killed
each time. A last child runs until the outbox is empty.

Figures (nothing is asserted): events accepted, posts in Slack, lost (events never posted)
and duplicated (posted more than once), both targets 0; the most posts one channel got within
any 10 seconds (one a second, Slack's pace, gives 10 or 11 counting both ends); how many
searches for a post a killed child may have made; the time from the burst to the last post.

`--child PHASE DATABASE_URL API_URL SECRET EVENTS CHANNELS` is a child process itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bot.console.slack_standin import RunningSlackStandin, running_slack_standin  # noqa: E402

TEAM = "T0001"
TOKEN = "xoxb-standin-T0001"
TICKETS_PER_CHANNEL = 3


def channel_id(index: int) -> str:
    return f"C{index + 100:04d}"


# ---------------------------------------------------------------------------- child process


async def child(
    phase: str, database_url: str, api_url: str, secret: str, events: int, channels: int
) -> None:
    from datetime import UTC, datetime

    from bot.config import load_settings
    from bot.services import BotServices
    from bot.storage.subscriptions import SubscriptionFilters
    from bot.subscriptions import PmpEvent

    settings = load_settings(
        env_file=None,
        slack_signing_secret="benchmark",
        slack_api_url=api_url,
        slack_bot_token=TOKEN,
        database_url=database_url,
        pmp_bot_secret_key=secret,
        log_level="WARNING",
    )
    services = await BotServices.start(settings)
    delivery = services.subscriptions.delivery
    if phase == "burst":
        for index in range(channels):
            await services.subscriptions.store.add(
                TEAM,
                None,
                channel_id(index),
                "tickets",
                SubscriptionFilters(customer_id=index + 1),
                created_by="U0001",
            )
        burst = []
        for n in range(events):
            index = n % channels
            ticket = index * TICKETS_PER_CHANNEL + (n // channels) % TICKETS_PER_CHANNEL + 1
            burst.append(
                PmpEvent(
                    team_id=TEAM,
                    enterprise_id=None,
                    kind="ticket",
                    record_id=ticket,
                    event="status",
                    key=f"bench:{n}",
                    changes={"status": (str(n % 5 + 1), str((n + 1) % 5 + 1))},
                    record={
                        "ticketid": str(ticket),
                        "subject": f"Bench ticket {ticket}",
                        "userid": str(index + 1),
                        "status": str((n + 1) % 5 + 1),
                    },
                    occurred_at=datetime.now(UTC),
                )
            )
        accepted = await delivery.accept(burst)
        print(f"accepted {accepted}", flush=True)
    else:
        print("started", flush=True)
    if phase == "drain":
        done = await delivery.wait_delivered(timeout=900)
        print("done" if done else "timeout", flush=True)
        await services.aclose()
        return
    await asyncio.Event().wait()  # delivers until killed


# ---------------------------------------------------------------------------- orchestration


def start_child(
    phase: str, args: argparse.Namespace, database_url: str, slack: RunningSlackStandin, secret: str
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--child",
            phase,
            database_url,
            slack.api_url,
            secret,
            str(args.events),
            str(args.channels),
        ],
        cwd=ROOT,
        env={**os.environ, "PMP_BOT_DATA_DIR": tempfile.mkdtemp(prefix="pmp-bot-bench-")},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first:
        raise SystemExit(f"a {phase} child stopped before starting")
    if phase == "burst":
        print(f"  {first}")
    return process


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)


def posted(slack: RunningSlackStandin, channels: int) -> list[tuple[str, int, str]]:
    """(channel, delivery id, ts) of every message pmp-bot posted, threads included."""
    found = []
    for index in range(channels):
        channel = channel_id(index)
        top = slack.channel_messages(channel)
        messages = list(top)
        for parent in top:
            messages += slack.channel_messages(channel, thread_ts=parent.ts)
        for message in messages:
            if message.metadata is not None:
                delivery = int(message.metadata["event_payload"]["delivery"])
                found.append((channel, delivery, message.ts))
    return found


async def run(args: argparse.Namespace) -> None:
    database_url = args.database_url
    dropped: Callable[[], Awaitable[None]] | None = None
    if database_url is None:
        folder = Path(tempfile.mkdtemp(prefix="pmp-bot-bench-db-"))
        database_url = f"sqlite:///{folder / 'bot.sqlite3'}"
    elif database_url.startswith("postgresql"):
        database_url, dropped = await fresh_database(database_url)
    secret = Fernet.generate_key().decode()
    channels = [
        {"team_id": TEAM, "id": channel_id(i), "name": f"bench-{i}"} for i in range(args.channels)
    ]
    rng = random.Random(args.seed)
    try:
        with running_slack_standin(
            teams={TEAM: TOKEN}, channels=channels, latency=args.latency
        ) as slack:
            started = time.monotonic()
            print(
                f"{args.events} events over {args.channels} channels, {args.kills} kill -9, "
                f"{args.instances} instance(s), {database_url.split(':', 1)[0]}"
            )
            running = [start_child("burst", args, database_url, slack, secret)]
            while len(running) < args.instances:
                running.append(start_child("resume", args, database_url, slack, secret))
            for _ in range(args.kills):
                await asyncio.sleep(rng.uniform(0.5, 3.0))
                victim = running.pop(rng.randrange(len(running)))
                kill(victim)
                running.append(start_child("resume", args, database_url, slack, secret))
            for process in running:
                kill(process)
            drain = start_child("drain", args, database_url, slack, secret)
            out, _ = await asyncio.to_thread(drain.communicate, timeout=1200)
            elapsed = time.monotonic() - started
            report(slack, args, out.strip(), elapsed)
    finally:
        if dropped is not None:
            await dropped()


def report(
    slack: RunningSlackStandin, args: argparse.Namespace, drain: str, elapsed: float
) -> None:
    posts = posted(slack, args.channels)
    ids = Counter(delivery for _, delivery, _ in posts)
    duplicated = sum(count - 1 for count in ids.values())
    lost = args.events - len(ids)
    # Slack's pace: about one post a second per channel, so at most about 10 in any 10 s.
    busiest = 0
    for index in range(args.channels):
        times = sorted(
            call.at
            for call in slack.calls_to("chat.postMessage")
            if call.ok
            and call.params.get("channel") == channel_id(index)
            and call.params.get("metadata")
        )
        for i, start in enumerate(times):
            busiest = max(busiest, len([t for t in times[i:] if t < start + 10.0]))
    searches = len(slack.calls_to("conversations.history")) + len(
        slack.calls_to("conversations.replies")
    )
    print(f"  last child: {drain}")
    print(f"  posts in Slack: {len(posts)} for {len(ids)} events")
    print(f"  lost: {lost}   duplicated: {duplicated}   (targets 0 and 0)")
    print(f"  most posts in one channel within 10 s: {busiest} (Slack's pace: about 10)")
    print(f"  in-flight posts looked for after a kill: {searches}")
    print(f"  burst to last post: {elapsed:.1f} s")


async def fresh_database(base: str) -> tuple[str, Callable[[], Awaitable[None]]]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.storage import to_async_database_url

    name = f"pmpbot_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(to_async_database_url(base), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))

    async def drop() -> None:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    return base.rsplit("/", 1)[0] + "/" + name, drop


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        phase, database_url, api_url, secret, events, channels = sys.argv[2:8]
        asyncio.run(child(phase, database_url, api_url, secret, int(events), int(channels)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    if args.instances > 1 and not (args.database_url or "").startswith("postgresql"):
        parser.error("--instances 2 needs --database-url postgresql://...")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()

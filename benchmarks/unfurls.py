"""Link previews benchmark: how long after a PMP link is posted its preview reaches Slack.

Run: .venv/bin/python benchmarks/unfurls.py [--messages 120] [--in-flight 4] [--latency 0.2]

Reuses the load benchmark's harness (benchmarks/run_all.py, benchmarks/servers.py): the PMP
sandbox in its own process with every API answer delayed by `--latency` (200 ms by
default), and `python -m bot serve` on a temporary SQLite database connected to it. The
Slack stand-in runs in this process (a thread of its own), because it plays Slack's part
twice: a user posts a message with PMP links (`share_link`), the stand-in gives the signed
`link_shared` event this script sends to the bot, and it notes when the bot's `chat.unfurl`
arrived. A preview's time runs from sending the event to that arrival.

Scenarios (figures only; nothing is asserted): messages with one link (customer, lead,
project, a project's milestones tab and ticket in turn), and messages with three links
(read at the same time), `--in-flight` messages at a time. Target (issue 15): previews p95
at most 1 s with PMP at 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from cryptography.fernet import Fernet
from slack_sdk.signature import SignatureVerifier

from benchmarks.load import percentile
from benchmarks.run_all import (
    PYTHON,
    SIGNING_SECRET,
    connect_workspace,
    free_port,
    load_average,
    server,
    started,
)
from benchmarks.servers import BENCH_CHANNEL, BENCH_TEAM, BENCH_TOKEN
from bot.console.slack_standin import RunningSlackStandin, running_slack_standin
from bot.pmp.links import RecordKind, record_url

TARGET_P95_S = 1.0
SHARER = "U0001M"
# Records the sandbox's demo data has of every kind (ids 1..8).
IDS = range(1, 9)
KINDS: tuple[RecordKind, ...] = ("customer", "lead", "project", "milestone", "ticket")
PREVIEW_WAIT_S = 10.0


@dataclass
class Figures:
    name: str
    preview_s: list[float] = field(default_factory=list)
    ack_s: list[float] = field(default_factory=list)
    missing: int = 0
    pmp_requests: int = 0


def links(base_url: str, number: int, per_message: int) -> list[str]:
    """`per_message` links of different kinds, turning through the kinds and ids."""
    chosen = []
    for offset in range(per_message):
        turn = number * per_message + offset
        kind = KINDS[turn % len(KINDS)]
        record_id = IDS[(turn // len(KINDS)) % len(IDS)]
        chosen.append(record_url(base_url, kind, record_id, project_id=record_id))
    return chosen


async def preview(
    slack: RunningSlackStandin,
    session: aiohttp.ClientSession,
    events_url: str,
    text: str,
    figures: Figures,
) -> None:
    envelope = slack.share_link(BENCH_TEAM, SHARER, text, channel_id=BENCH_CHANNEL)
    assert envelope is not None
    ts = envelope["event"]["message_ts"]
    body = json.dumps(envelope)
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    since = len(slack.calls)
    sent = time.monotonic()
    async with session.post(events_url, data=body, headers=headers) as answer:
        await answer.read()
        figures.ack_s.append(time.monotonic() - sent)
    try:
        call = await slack.wait_for(
            "chat.unfurl", lambda c: c.params.get("ts") == ts, PREVIEW_WAIT_S, since=since
        )
    except TimeoutError:
        figures.missing += 1
        return
    if not call.ok:
        figures.missing += 1
        return
    figures.preview_s.append(call.at - sent)


async def scenario(
    name: str,
    slack: RunningSlackStandin,
    session: aiohttp.ClientSession,
    bot_url: str,
    sandbox_url: str,
    *,
    messages: int,
    per_message: int,
    in_flight: int,
) -> Figures:
    figures = Figures(name)
    async with session.post(f"{sandbox_url}/_bench/count"):
        pass
    queue = iter(range(messages))

    async def user() -> None:
        for number in queue:
            text = "Have a look: " + " and ".join(
                f"<{url}>" for url in links(sandbox_url, number, per_message)
            )
            await preview(slack, session, f"{bot_url}/slack/events", text, figures)

    await asyncio.gather(*(user() for _ in range(in_flight)))
    async with session.get(f"{sandbox_url}/_bench/count") as answer:
        figures.pmp_requests = int((await answer.json())["api_requests"])
    return figures


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def report(figures: Figures, latency: float) -> str:
    done = figures.preview_s
    p50, p95 = percentile(done, 0.5), percentile(done, 0.95)
    verdict = "met" if p95 <= TARGET_P95_S else "NOT met"
    sent = len(done) + figures.missing
    return (
        f"| {figures.name} | {len(done)} of {sent} | {ms(p50)} | {ms(p95)} | "
        f"{ms(max(done, default=float('nan')))} | {ms(percentile(figures.ack_s, 0.95))} | "
        f"{figures.pmp_requests / max(sent, 1):.1f} | {verdict} (PMP {ms(latency)} ms) |"
    )


async def run(args: argparse.Namespace, workdir: Path) -> None:
    secret_key = Fernet.generate_key().decode()
    database_url = f"sqlite:///{workdir / 'bot.sqlite3'}"
    ports = {"sandbox": free_port(), "bot": free_port()}
    print(f"load average before: {load_average()}")
    with contextlib.ExitStack() as stack:
        slack = stack.enter_context(running_slack_standin(teams={BENCH_TEAM: BENCH_TOKEN}))
        slack.set_unfurl_domains("127.0.0.1")
        sandbox_args = ["--port", str(ports["sandbox"]), "--latency", str(args.latency)]
        sandbox = stack.enter_context(
            started("sandbox", server("sandbox", *sandbox_args), ports["sandbox"], workdir)
        )
        await connect_workspace(database_url, secret_key, sandbox.url)
        env = {
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": BENCH_TOKEN,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url,
            "PMP_BOT_SECRET_KEY": secret_key,
            "PMP_BOT_ALLOW_PRIVATE_PMP": "true",  # the sandbox is on 127.0.0.1
        }
        bot_args = [PYTHON, "-m", "bot", "serve", "--port", str(ports["bot"])]
        bot = stack.enter_context(started("pmp-bot", bot_args, ports["bot"], workdir, env))
        async with aiohttp.ClientSession() as session:
            common = {"messages": args.messages, "in_flight": args.in_flight}
            # Warm-up: connections, the PMP client, PMP's API version.
            await scenario(
                "warm-up",
                slack,
                session,
                bot.url,
                sandbox.url,
                messages=10,
                per_message=1,
                in_flight=2,
            )
            runs = [
                await scenario(
                    "1 link a message",
                    slack,
                    session,
                    bot.url,
                    sandbox.url,
                    per_message=1,
                    **common,
                ),
                await scenario(
                    "3 links a message",
                    slack,
                    session,
                    bot.url,
                    sandbox.url,
                    per_message=3,
                    **common,
                ),
            ]
    print(f"load average after: {load_average()}")
    print(
        f"\n{args.messages} messages a scenario, {args.in_flight} at a time; times in ms from "
        "sending link_shared to chat.unfurl reaching Slack\n"
    )
    print(
        "| scenario | previews | p50 | p95 | max | ack p95 | PMP requests a message | p95 <= 1 s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for figures in runs:
        print(report(figures, args.latency))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=120, help="messages a scenario")
    parser.add_argument("--in-flight", type=int, default=4, help="messages at a time")
    parser.add_argument("--latency", type=float, default=0.2, help="PMP's answer time, s")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pmp-unfurl-bench-"))
    try:
        asyncio.run(run(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Subscriptions benchmark (1): polling PMP 2.0.8 for many workspaces at steady state.

Run: .venv/bin/python benchmarks/subscriptions_polling.py [--workspaces 1000] [--tickets 200]
     [--measure 120] [--interval 60] [--database-url postgresql://...]

The PMP sandbox (2.0.8) runs in its own process with one token per workspace and
``--tickets`` tickets (each workspace sees the same tickets, its own token), counting the API
requests it answers. `python -m bot serve` runs in another process, on a database prepared
here: ``--workspaces`` connected workspaces, each with one channel subscribed to tickets. The
bot's job runner polls each workspace every ``--interval`` seconds (jittered); once every
workspace has its baseline and a settling minute has passed, the script measures for
``--measure`` seconds: PMP calls per second, the bot process's CPU (cores) and its RSS.
Nothing changes in PMP meanwhile: this is the cost of watching. Figures only; nothing is
asserted. Targets (issue 14): CPU <= 0.3 core, RSS <= 250 MB.

`--serve-sandbox PORT` is the sandbox process itself (used by the script).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from benchmarks.run_all import free_port, started  # noqa: E402
from benchmarks.servers import send_json, serve_app  # noqa: E402
from bot.console.slack_standin import running_slack_standin  # noqa: E402
from bot.crypto import TokenCipher  # noqa: E402
from bot.sandbox.auth import bulk_token  # noqa: E402
from bot.storage import Database, WorkspaceStore  # noqa: E402
from bot.storage.fingerprints import poll_lists  # noqa: E402
from bot.storage.subscriptions import SubscriptionFilters, SubscriptionStore  # noqa: E402

PYTHON = sys.executable
TARGET_CPU_CORES = 0.3
TARGET_RSS_MB = 250.0
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-standin-T0001"


# ------------------------------------------------------------------------ sandbox process


def serve_sandbox(port: int, tokens: int, tickets: int, api_version: int) -> None:
    from starlette.types import Receive, Scope, Send

    from bot.sandbox.app import SandboxApp
    from bot.sandbox.auth import DEFAULT_SANDBOX_TOKEN
    from bot.sandbox.changes import apply_change
    from bot.sandbox.store import SandboxStore

    store = SandboxStore(":memory:", seed=True)
    have = len(store.tickets())
    for number in range(max(tickets - have, 0)):
        apply_change(
            store, {"kind": "ticket", "action": "create", "fields": {"subject": f"B{number}"}}
        )
    sandbox = SandboxApp(store, token=DEFAULT_SANDBOX_TOKEN, api_version=api_version)
    sandbox.tokens.add_bulk(tokens)
    counted = {"api": 0}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/count":
            await send_json(send, {"api_requests": counted["api"]})
            return
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            counted["api"] += 1
        await sandbox(scope, receive, send)

    serve_app(app, port, limit_concurrency=2000)


# ----------------------------------------------------------------------------- the bench


async def prepare(
    database_url: str, secret_key: str, sandbox_url: str, workspaces: int, interval: int
) -> list[str]:
    database = await Database.connect(database_url)
    try:
        await database.create_schema()
        store = WorkspaceStore(database, TokenCipher.from_keys([secret_key]))
        subscriptions = SubscriptionStore(database)
        teams = [f"T{index:05d}" for index in range(1, workspaces + 1)]
        for index, team in enumerate(teams, start=1):
            await store.save_credentials(team, None, sandbox_url, bulk_token(index), "U0001")
            if interval != 60:
                await store.set_options(team, None, poll_interval_seconds=interval)
            await subscriptions.add(
                team, None, "C0001", "tickets", SubscriptionFilters(), created_by="U0001"
            )
        return teams
    finally:
        await database.dispose()


async def baselines(database_url: str) -> int:
    database = await Database.connect(database_url)
    try:
        async with database.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(poll_lists)) or 0)
    finally:
        await database.dispose()


async def api_requests(http: httpx.AsyncClient, sandbox_url: str) -> int:
    answer = await http.get(f"{sandbox_url}/_bench/count")
    return int(answer.json()["api_requests"])


async def bench(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="pmp-bot-polling-"))
    secret_key = Fernet.generate_key().decode()
    database_url = args.database_url or f"sqlite:///{workdir / 'bot.sqlite3'}"
    sandbox_port, bot_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    print(
        f"{args.workspaces} workspaces, {args.tickets} tickets each, polled every "
        f"{args.interval} s; measuring {args.measure} s"
    )
    sandbox_args = [
        PYTHON,
        str(Path(__file__).resolve()),
        "--serve-sandbox",
        str(sandbox_port),
        "--workspaces",
        str(args.workspaces),
        "--tickets",
        str(args.tickets),
    ]
    try:
        with (
            started("sandbox", sandbox_args, sandbox_port, workdir, ready_within=60),
            running_slack_standin(teams={"T0001": BOT_TOKEN}) as slack,
        ):
            began = time.monotonic()
            await prepare(database_url, secret_key, sandbox_url, args.workspaces, args.interval)
            print(f"prepared the database in {time.monotonic() - began:.0f} s")
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
            with started("bot", serve, bot_port, workdir, env, ready_within=60) as bot:
                began = time.monotonic()
                while await baselines(database_url) < args.workspaces:
                    if time.monotonic() - began > 600:
                        raise RuntimeError("the baselines were not all taken in 10 minutes")
                    await asyncio.sleep(2)
                took = time.monotonic() - began
                print(f"every workspace's baseline taken {took:.0f} s after the bot started")
                await asyncio.sleep(args.settle)
                async with httpx.AsyncClient() as http:
                    calls_before = await api_requests(http, sandbox_url)
                    cpu_before = bot.cpu_seconds()
                    clock = time.monotonic()
                    peak = 0.0
                    samples: list[float] = []
                    while time.monotonic() - clock < args.measure:
                        await asyncio.sleep(1)
                        current = bot.memory_kb()["VmRSS"] / 1024
                        samples.append(current)
                        peak = max(peak, current)
                    elapsed = time.monotonic() - clock
                    calls = await api_requests(http, sandbox_url) - calls_before
                    cpu = bot.cpu_seconds() - cpu_before
                expected = args.workspaces / args.interval
                print(
                    f"PMP calls: {calls / elapsed:.1f}/s ({calls} in {elapsed:.0f} s; one list "
                    f"per workspace per interval would be {expected:.1f}/s)"
                )
                print(
                    f"bot CPU: {cpu / elapsed:.3f} core (target <= {TARGET_CPU_CORES}); "
                    f"{cpu / max(calls, 1) * 1000:.2f} ms per poll"
                )
                print(
                    f"bot RSS: {samples[-1]:.0f} MB at the end, {peak:.0f} MB at most "
                    f"(target <= {TARGET_RSS_MB:.0f} MB)"
                )
                posts = len(slack.calls_to("chat.postMessage"))
                print(f"Slack posts meanwhile: {posts} (nothing changed in PMP)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--workspaces", type=int, default=1000)
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--measure", type=float, default=120.0)
    parser.add_argument("--settle", type=float, default=60.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--serve-sandbox", type=int, default=None, metavar="PORT")
    parser.add_argument("--api-version", type=int, default=2)
    args = parser.parse_args()
    if args.serve_sandbox is not None:
        serve_sandbox(args.serve_sandbox, args.workspaces, args.tickets, args.api_version)
        return
    # A stop (SIGTERM) still stops the processes started here.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(143))
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()

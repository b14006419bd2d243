"""`pmp-bot shell`: the real bot in a terminal, with a stand-in for Slack and, unless told
otherwise, the embedded PMP sandbox and its demo data. No Slack workspace, no PMP server."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
from collections.abc import AsyncIterable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from cryptography.fernet import Fernet

from bot.config import SettingsError, load_settings
from bot.connect import PmpUrlError, check_pmp_credentials, normalize_pmp_url
from bot.console.shell import WORK_TIMEOUT_SECONDS, LineSource, run_console
from bot.console.slack_standin import (
    DEFAULT_BOT_TOKEN,
    DEFAULT_CHANNEL_ID,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    running_slack_standin,
)
from bot.notify import NotificationQueue
from bot.observability import configure_logging
from bot.pmp_pool import PmpClientPool
from bot.sandbox import running_sandbox
from bot.services import BotServices, ListenerTracker
from bot.slack.app import create_app
from bot.slack.web import create_web_app
from handlers.tickets import SHORTCUTS

BANNER = """\
pmp-bot console: the real bot, with a stand-in for Slack and {pmp}.
You are @alex, owner of workspace {team}, typing in #general. Try:
  /pmp customer acme      /pmp ticket 7      /pmp help      press 1      help      quit
"""


async def app_work_done(
    listeners: ListenerTracker, notices: NotificationQueue, pmp_pool: PmpClientPool | None = None
) -> None:
    """Returns once no listener is still working after its ack, no channel notice is being
    posted and the outcome of the last PMP calls is written (for `/pmp status`). A notice
    waiting for Slack's one-a-second pace is not waited for: it shows up later by itself,
    and never delays a reply."""
    while True:
        await listeners.wait_idle(WORK_TIMEOUT_SECONDS)
        await notices.wait_posted()
        if pmp_pool is not None:
            await pmp_pool.wait_marks()
        if listeners.running == 0:
            return


async def run_shell(
    *,
    pmp_url: str | None = None,
    pmp_token: str | None = None,
    out: TextIO | None = None,
    lines: LineSource | Iterable[str] | AsyncIterable[str] | None = None,
) -> int:
    stream = out if out is not None else sys.stdout
    with ExitStack() as stack:
        if pmp_url is None:
            sandbox = stack.enter_context(running_sandbox())
            base_url, token = sandbox.base_url, sandbox.token
            what = f"the PMP sandbox at {base_url} (demo data)"
        else:
            try:
                base_url = normalize_pmp_url(pmp_url)
            except PmpUrlError as error:
                print(f"pmp-bot: --pmp-url: {error}", file=sys.stderr)
                return 2
            token = pmp_token or ""
            check = await check_pmp_credentials(base_url, token, timeout=10.0)
            if not check.ok:
                print(f"pmp-bot: {check.url_error or check.token_error}", file=sys.stderr)
                return 2
            what = f"your PMP at {base_url}"
        slack = stack.enter_context(running_slack_standin())
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pmp-bot-")))
        signing_secret = secrets.token_hex(16)
        try:
            settings = load_settings(
                env_file=None,
                slack_signing_secret=signing_secret,
                slack_bot_token=DEFAULT_BOT_TOKEN,
                slack_api_url=slack.api_url,
                database_url=f"sqlite:///{data_dir / 'console.sqlite3'}",
                pmp_bot_secret_key=Fernet.generate_key().decode(),
                log_level="WARNING",
            )
        except SettingsError as error:
            print(f"pmp-bot: {error}", file=sys.stderr)
            return 2
        services = await BotServices.start(settings)
        try:
            # The console's workspace starts connected, so the first command shows something.
            await services.workspaces.save_credentials(
                team_id=DEFAULT_TEAM_ID,
                enterprise_id=None,
                base_url=base_url,
                token=token,
                connected_by=DEFAULT_USER_ID,
            )
            # Acks like `serve`: at once, with the results following. The console waits for
            # the listeners' work (never for a paced notice) before the next prompt.
            app = create_app(settings, services)

            stream.write(BANNER.format(pmp=what, team=DEFAULT_TEAM_ID))
            await run_console(
                create_web_app(app, services),
                signing_secret=signing_secret,
                slack=slack,
                team_id=DEFAULT_TEAM_ID,
                user_id=DEFAULT_USER_ID,
                channel_id=DEFAULT_CHANNEL_ID,
                out=stream,
                lines=lines,
                shortcuts=SHORTCUTS,
                app_idle=lambda: app_work_done(
                    services.listeners, services.notices, services.pmp_pool
                ),
            )
        finally:
            await services.aclose()
    return 0


def run(args: argparse.Namespace) -> int:
    if (args.pmp_url is None) != (args.pmp_token is None):
        print("pmp-bot: give both --pmp-url and --pmp-token, or neither.", file=sys.stderr)
        return 2
    configure_logging("WARNING", json_lines=False)
    return asyncio.run(run_shell(pmp_url=args.pmp_url, pmp_token=args.pmp_token))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "shell",
        help="try the bot in a terminal (no Slack or PMP needed)",
        description=(
            "Run the real bot in a terminal console with a stand-in for Slack. Without "
            "options it uses the embedded PMP sandbox and its demo data. Type slash commands "
            "like `/pmp customer acme`, `press N` for buttons, `help` for more. Reads commands "
            "from stdin when stdin is not a terminal, so it can be scripted."
        ),
    )
    parser.add_argument("--pmp-url", help="use this PMP instead of the sandbox")
    parser.add_argument("--pmp-token", help="the API token for --pmp-url")
    parser.set_defaults(run=run)

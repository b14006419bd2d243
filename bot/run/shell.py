"""`pmp-bot shell`: the real bot in a terminal, with a stand-in for Slack and, unless told
otherwise, the embedded PMP sandbox and its demo data. No Slack workspace, no PMP server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
import tempfile
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import urlsplit

import httpx
from cryptography.fernet import Fernet

import handlers
from bot.blocks.ids import SHORTCUTS
from bot.config import SettingsError, load_settings
from bot.connect import PmpUrlError, check_pmp_credentials, normalize_pmp_url
from bot.console.shell import WORK_TIMEOUT_SECONDS, LineSource, run_console
from bot.console.slack_standin import (
    DEFAULT_BOT_TOKEN,
    DEFAULT_CHANNEL_ID,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    RunningSlackStandin,
    StandinUser,
    default_users,
    running_slack_standin,
)
from bot.grammar import SLASH_COMMAND
from bot.observability import configure_logging
from bot.pmp.network import PRIVATE_ALLOWED
from bot.pmp_pool import PmpClientPool
from bot.sandbox import running_sandbox
from bot.sandbox.changes import COMMAND_HELP as PMP_CHANGE_HELP
from bot.services import BotServices, ListenerTracker
from bot.slack.app import BOLT_LOGGER, create_app
from bot.slack.web import create_web_app

BANNER = """\
pmp-bot console: the real bot, with a stand-in for Slack and {pmp}.
You are @alex, owner of workspace {team}, typing in #general.
{summary}
{connect}
Try: /pmp customer acme    press 1    /pmp ticket 7    /pmp help    help    quit
"""

# Besides the stand-in's owner @alex and member @sam: people to act as (`as bob`) and
# channels to post in (`/pmp notify #sales`, the help's own example).
CONSOLE_USERS = [
    *default_users(DEFAULT_TEAM_ID),
    StandinUser(
        id="U0002",
        team_id=DEFAULT_TEAM_ID,
        name="bob",
        real_name="Bob Member",
        email="bob@example.com",
    ),
    StandinUser(
        id="U0003",
        team_id=DEFAULT_TEAM_ID,
        name="dana",
        real_name="Dana Admin",
        is_admin=True,
        email="dana@example.com",
    ),
]
CONSOLE_CHANNELS = [
    {"team_id": DEFAULT_TEAM_ID, "id": "C0002", "name": "sales"},
    {"team_id": DEFAULT_TEAM_ID, "id": "C0003", "name": "support"},
]
SANDBOX_FILE = "sandbox.sqlite3"


class _DropUnhandledRequests(logging.Filter):
    """Bolt logs a Python listener to add for a request the app doesn't handle; the console
    says in one line that the app has no handler, which is what its user needs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Unhandled request")


_UNHANDLED_REQUESTS = _DropUnhandledRequests()


def connect_note(base_url: str, token: str | None) -> str:
    """What `/pmp connect` asks for; the sandbox's demo token is shown, a real one never."""
    if token is None:
        return f"/pmp connect asks for the PMP URL {base_url} and your API token."
    return f"/pmp connect asks for the PMP URL {base_url} and the sandbox's API token:\n  {token}"


def leaving_note(data_dir: Path | None) -> str:
    if data_dir is None:
        return (
            "Bye. This console kept its workspace, settings and sandbox changes in memory, "
            "so they are gone now; `pmp-bot shell --data-dir DIR` keeps them."
        )
    return f"Bye. Everything is kept in {data_dir}; `pmp-bot shell --data-dir {data_dir}` goes on."


def sandbox_changer(base_url: str, token: str) -> Callable[[str], Awaitable[str]]:
    """The console's `pmp-change`: the sandbox's change control, over HTTP."""

    async def change(words: str) -> str:
        if words.strip().lower() in ("", "help"):
            return PMP_CHANGE_HELP
        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as http:
                answer = await http.post(
                    "/_sandbox/changes", json={"command": words}, headers={"authtoken": token}
                )
            body = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            return f"pmp-change: the PMP sandbox did not answer ({type(error).__name__})."
        if answer.status_code == 200 and isinstance(body, dict):
            return str(body.get("summary", "Done."))
        message = body.get("message") if isinstance(body, dict) else None
        return f"pmp-change: {message or answer.status_code}"

    return change


# How long the console waits for the posts a `pmp-change` makes before the next prompt.
CHANGE_POSTS_WAIT_S = 10.0


def _read_after(
    change: Callable[[str], Awaitable[str]] | None, services: BotServices
) -> Callable[[str], Awaitable[str]] | None:
    """`pmp-change`, then the console's PMP read at once instead of at the next poll (the
    sandbox, like PMP 2.0.8, sends no webhooks), and what subscribed channels get posted
    before the next prompt (a few seconds at most: Slack's pace is one post a second)."""
    if change is None or services.sources is None:
        return change
    sources = services.sources

    async def change_then_read(words: str) -> str:
        said = await change(words)
        if not said.startswith("pmp-change:") and words.strip().lower() not in ("", "help"):
            await sources.poll(DEFAULT_TEAM_ID, None)
            await services.subscriptions.delivery.wait_delivered(timeout=CHANGE_POSTS_WAIT_S)
        return said

    return change_then_read


class _Notices(Protocol):
    async def wait_posted(self) -> None: ...


async def app_work_done(
    listeners: ListenerTracker, notices: _Notices, pmp_pool: PmpClientPool | None = None
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
    data_dir: Path | None = None,
) -> int:
    """Run the console; with `data_dir`, the bot's database and the sandbox's data are kept
    there between runs, else in memory and a temporary directory."""
    stream = out if out is not None else sys.stdout
    with ExitStack() as stack:
        if data_dir is not None:
            try:
                data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as error:
                print(
                    f"pmp-bot: --data-dir {data_dir} can't be used: {error.strerror or error}.",
                    file=sys.stderr,
                )
                return 2
        if pmp_url is None:
            sandbox_db = str(data_dir / SANDBOX_FILE) if data_dir is not None else ":memory:"
            sandbox = stack.enter_context(running_sandbox(db=sandbox_db))
            base_url, token = sandbox.base_url, sandbox.token
            pmp_change: Callable[[str], Awaitable[str]] | None = sandbox_changer(base_url, token)
            what = "the PMP sandbox (demo data)"
            connect = connect_note(base_url, token)
        else:
            try:
                base_url = normalize_pmp_url(pmp_url)
            except PmpUrlError as error:
                print(f"pmp-bot: --pmp-url: {error}", file=sys.stderr)
                return 2
            token = pmp_token or ""
            # The console is the operator's own: a PMP on a private network is fine here.
            check = await check_pmp_credentials(
                base_url, token, timeout=10.0, policy=PRIVATE_ALLOWED
            )
            if not check.ok:
                why = f" ({check.detail})" if check.detail else ""
                print(f"pmp-bot: {check.url_error or check.token_error}{why}", file=sys.stderr)
                return 2
            what = f"your PMP at {base_url}"
            pmp_change = None
            connect = connect_note(base_url, None)
        slack = stack.enter_context(
            running_slack_standin(users=CONSOLE_USERS, channels=CONSOLE_CHANNELS)
        )
        # Like the manifest `pmp-bot manifest --pmp-domain` prints: links to the PMP get
        # previews (`say` posts a message).
        slack.set_unfurl_domains(urlsplit(base_url).hostname or "")
        signing_secret = secrets.token_hex(16)
        try:
            if data_dir is None:
                temporary = Path(
                    stack.enter_context(tempfile.TemporaryDirectory(prefix="pmp-bot-"))
                )
                storage: dict[str, Any] = {
                    "database_url": f"sqlite:///{temporary / 'console.sqlite3'}",
                    "pmp_bot_secret_key": Fernet.generate_key().decode(),
                }
            else:
                # The default database and a generated secret.key, in the directory given.
                storage = {
                    "pmp_bot_data_dir": data_dir,
                    "database_url": None,
                    "pmp_bot_secret_key": None,
                }
            settings = load_settings(
                env_file=None,
                slack_signing_secret=signing_secret,
                slack_bot_token=DEFAULT_BOT_TOKEN,
                slack_api_url=slack.api_url,
                log_level="WARNING",
                pmp_bot_allow_private_pmp=True,  # the sandbox, or the operator's own PMP
                **storage,
            )
            settings.token_cipher()  # a key file that can't be made stops here, in one line
        except SettingsError as error:
            print(f"pmp-bot: {error}", file=sys.stderr)
            return 2
        services = await BotServices.start(settings)
        stack.callback(BOLT_LOGGER.removeFilter, _UNHANDLED_REQUESTS)
        BOLT_LOGGER.addFilter(_UNHANDLED_REQUESTS)
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
            app = create_app(settings, services, register_listeners=handlers.register)
            stream.write(
                BANNER.format(
                    pmp=what,
                    team=DEFAULT_TEAM_ID,
                    summary=_summary(slack),
                    connect=connect,
                )
            )
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
                    services.listeners, services.subscriptions.delivery, services.pmp_pool
                ),
                extra_help=connect,
                commands=[SLASH_COMMAND],
                pmp_change=_read_after(pmp_change, services),
            )
        finally:
            await services.aclose()
        stream.write(leaving_note(data_dir) + "\n")
    return 0


def _summary(slack: RunningSlackStandin) -> str:
    people = ", ".join(f"@{u.name}" for u in slack.users(DEFAULT_TEAM_ID) if not u.is_owner)
    channels = ", ".join(
        f"#{c.name}" for c in slack.channels(DEFAULT_TEAM_ID) if c.id != DEFAULT_CHANNEL_ID
    )
    return f"Also here: {people} (`as bob` acts as Bob); {channels} (`in #sales`)."


def run(args: argparse.Namespace) -> int:
    if (args.pmp_url is None) != (args.pmp_token is None):
        print("pmp-bot: give both --pmp-url and --pmp-token, or neither.", file=sys.stderr)
        return 2
    configure_logging("WARNING", json_lines=False)
    return asyncio.run(
        run_shell(pmp_url=args.pmp_url, pmp_token=args.pmp_token, data_dir=args.data_dir)
    )


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
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help=(
            "keep the console's workspace, settings and sandbox data in DIR between runs "
            "(a directory of its own; default: nothing is kept after quit)"
        ),
    )
    parser.set_defaults(run=run)

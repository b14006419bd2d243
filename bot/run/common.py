"""Start-up shared by the ways of running the bot.

Whatever stops start-up (a setting, the data directory, the database, a token Slack refuses,
a port in use) ends the process with one line on stderr that says what to fix, never a
traceback: the runners raise StartupError and `run_until_stopped` prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import stat
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings, SettingsError, load_settings
from bot.observability import configure_logging
from bot.services import BotServices
from bot.storage.database import DatabaseUnavailableError, SchemaVersionError

logger = logging.getLogger(__name__)

# Exit statuses: a setting to fix (as argparse uses), or something around pmp-bot to fix.
EXIT_SETTINGS = 2
EXIT_UNAVAILABLE = 1

# Slack's answers to a token it won't take (auth.test, apps.connections.open).
REFUSED_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
SLACK_CHECK_TIMEOUT_S = 10


class StartupError(Exception):
    """Start-up can't go on; ``str(error)`` is the one line that says what to fix."""

    def __init__(self, line: str, *, exit_code: int = EXIT_UNAVAILABLE) -> None:
        super().__init__(line)
        self.exit_code = exit_code


def add_logging_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-json", action="store_true", help="write logs as JSON lines (one object per line)"
    )


def settings_or_exit_code(
    *, need_slack_credentials: bool, socket_mode: bool = False
) -> Settings | int:
    """The settings, or 2 after printing the one line that says what to fix."""
    try:
        settings = load_settings()
        if need_slack_credentials:
            settings.require_slack_credentials(socket_mode=socket_mode)
    except SettingsError as error:
        print(f"pmp-bot: {error}", file=sys.stderr)
        return EXIT_SETTINGS
    return settings


def start_logging(settings: Settings, args: argparse.Namespace) -> None:
    configure_logging(settings.log_level, json_lines=bool(getattr(args, "log_json", False)))


def run_until_stopped(
    main: Coroutine[Any, Any, None],
    *,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> int:
    """Runs `main` (on a loop from `loop_factory`, asyncio's own by default); a StartupError
    becomes its line on stderr and its exit status."""
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(main)
    except StartupError as error:
        print(f"pmp-bot: {error}", file=sys.stderr)
        return error.exit_code
    return 0


def check_data_dir(settings: Settings) -> None:
    """PMP_BOT_DATA_DIR must be a directory pmp-bot can write when it keeps something there
    (the default SQLite database, or a generated key). Creates it (mode 0700) when missing."""
    if not settings.uses_default_database and settings.pmp_bot_secret_key is not None:
        return
    folder = settings.data_dir
    probe = folder / f".pmp-bot-write-check.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _keep_folder_private(folder)
        # A real write: permissions alone don't tell (root, read-only mounts, full disks).
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        if isinstance(error, FileExistsError | NotADirectoryError):
            reason = "it is a file, not a directory"
        raise StartupError(
            f"PMP_BOT_DATA_DIR {folder} can't be used ({reason.lower()}): point it at a "
            "directory pmp-bot may write to; it holds the database and the encryption key.",
            exit_code=EXIT_SETTINGS,
        ) from None


def _keep_folder_private(folder: Path) -> None:
    """mkdir leaves an existing folder's mode alone: a data directory others can read or
    enter is tightened to 0700 (it holds the database and the encryption key)."""
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077 and folder.stat().st_uid == os.getuid():
        folder.chmod(0o700)
        logger.warning("PMP_BOT_DATA_DIR %s was mode %o; restricted it to 0700", folder, mode)


async def start_services(settings: Settings) -> BotServices:
    """The bot's services, or a StartupError saying what stopped them."""
    check_data_dir(settings)
    try:
        return await BotServices.start(settings)
    except (SettingsError, DatabaseUnavailableError, SchemaVersionError) as error:
        raise storage_startup_error(error) from None


def storage_startup_error(
    error: SettingsError | DatabaseUnavailableError | SchemaVersionError,
) -> StartupError:
    """The line for what stops pmp-bot opening its storage: the key file (with the default
    database), a database out of reach, or one written by a newer pmp-bot."""
    if isinstance(error, SettingsError):
        return StartupError(str(error), exit_code=EXIT_SETTINGS)
    if isinstance(error, DatabaseUnavailableError):
        return StartupError(
            f"{error} Check DATABASE_URL, and that the database server is running and "
            "reachable from here."
        )
    return StartupError(str(error))


async def check_bot_token(settings: Settings) -> None:
    """Asks Slack (auth.test) whether it takes SLACK_BOT_TOKEN, so a wrong token stops
    start-up, before anything is written, instead of failing every request. Slack out of
    reach is only logged: it may be back before the first request."""
    token = settings.bot_token()
    if token is None:
        return  # OAuth mode: each workspace's token comes with its install
    try:
        async with aiohttp.ClientSession() as session:
            client = AsyncWebClient(
                token=token,
                base_url=settings.slack_api_url,
                session=session,
                timeout=SLACK_CHECK_TIMEOUT_S,
            )
            await client.auth_test()
    except SlackApiError as error:
        code = _slack_error(error)
        if code in REFUSED_TOKEN_ERRORS:
            raise StartupError(
                f"Slack refused SLACK_BOT_TOKEN ({code}): copy the Bot User OAuth Token "
                "(xoxb-...) again from your Slack app's OAuth & Permissions page; "
                "reinstalling the app gives a new one.",
                exit_code=EXIT_SETTINGS,
            ) from None
        logger.warning("Slack's auth.test answered %s; starting anyway", code)
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        logger.warning(
            "Couldn't reach Slack at %s to check SLACK_BOT_TOKEN (%s); starting anyway",
            settings.slack_api_url,
            type(error).__name__,
        )


def _slack_error(error: SlackApiError) -> str:
    response: Any = error.response
    try:
        return str(response.get("error") or "unknown_error")
    except AttributeError:
        return "unknown_error"

"""Start-up shared by the ways of running the bot."""

from __future__ import annotations

import argparse
import sys

from bot.config import Settings, SettingsError, load_settings
from bot.observability import configure_logging


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
        return 2
    return settings


def start_logging(settings: Settings, args: argparse.Namespace) -> None:
    configure_logging(settings.log_level, json_lines=bool(getattr(args, "log_json", False)))

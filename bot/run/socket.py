"""`pmp-bot socket`: Socket Mode, for development without a public URL."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.config import Settings
from bot.run.common import add_logging_arguments, settings_or_exit_code, start_logging
from bot.services import BotServices
from bot.slack.app import create_app

logger = logging.getLogger(__name__)


async def run_socket_mode(settings: Settings, app_token: str) -> None:
    services = await BotServices.start(settings)
    try:
        app = create_app(settings, services)
        # The handler reuses the app's client, so apps.connections.open goes to SLACK_API_URL.
        handler = AsyncSocketModeHandler(app, app_token)
        logger.info("pmp-bot connected in Socket Mode; press Ctrl-C to stop")
        await handler.start_async()  # type: ignore[no-untyped-call]
    finally:
        await services.aclose()


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit_code(need_slack_credentials=True, socket_mode=True)
    if isinstance(settings, int):
        return settings
    app_token = settings.app_token() or ""
    start_logging(settings, args)
    asyncio.run(run_socket_mode(settings, app_token))
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "socket",
        help="connect to Slack in Socket Mode (development)",
        description="Connect to Slack over Socket Mode; needs SLACK_APP_TOKEN (xapp-…).",
    )
    add_logging_arguments(parser)
    parser.set_defaults(run=run)

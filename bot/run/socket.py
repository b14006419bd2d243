"""`pmp-bot socket`: Socket Mode, for development without a public URL."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.config import Settings
from bot.run.common import (
    EXIT_SETTINGS,
    REFUSED_TOKEN_ERRORS,
    SLACK_CHECK_TIMEOUT_S,
    StartupError,
    add_logging_arguments,
    check_bot_token,
    check_data_dir,
    run_until_stopped,
    settings_or_exit_code,
    start_logging,
    start_services,
)
from bot.slack.app import create_app

logger = logging.getLogger(__name__)

# How long the first connection may take before start-up gives up with a line saying so
# (slack-sdk would otherwise retry for ever, logging a traceback each time).
FIRST_CONNECTION_TIMEOUT_S = 30.0
# The Socket Mode client's own log: its failed attempts at the first connection are held
# back, since start-up reports how the first connection went itself.
CLIENT_LOGGER = logging.getLogger("bot.run.socket.client")


async def run_socket_mode(settings: Settings, app_token: str) -> None:
    check_data_dir(settings)
    # The app token first: without Slack in reach Socket Mode can't start at all.
    await check_app_token(settings, app_token)
    await check_bot_token(settings)
    services = await start_services(settings)
    try:
        app = create_app(settings, services, register_listeners=handlers.register)
        # The handler reuses the app's client, so apps.connections.open goes to SLACK_API_URL.
        handler = AsyncSocketModeHandler(app, app_token, logger=CLIENT_LOGGER)
        logger.info("pmp-bot connecting to Slack in Socket Mode…")
        try:
            with _quiet_retries():
                await asyncio.wait_for(
                    handler.connect_async(),  # type: ignore[no-untyped-call]
                    FIRST_CONNECTION_TIMEOUT_S,
                )
        except TimeoutError:
            await handler.close_async()  # type: ignore[no-untyped-call]
            raise StartupError(
                f"Slack gave a Socket Mode address, but no connection to it opened within "
                f"{FIRST_CONNECTION_TIMEOUT_S:g} s: check that this network allows WebSocket "
                "(wss://) connections to Slack."
            ) from None
        logger.info("pmp-bot connected in Socket Mode; press Ctrl-C to stop")
        try:
            await _until_terminated()  # Slack's requests arrive on the client's tasks
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
    finally:
        await services.aclose()


async def _until_terminated() -> None:
    """Returns on SIGTERM (Ctrl-C cancels the wait through asyncio's runner), so either one
    closes the socket and lets acknowledged work finish before the process ends. A second
    SIGTERM then ends it at once, as the default handler does."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    try:
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    except (NotImplementedError, RuntimeError, ValueError):
        await asyncio.Event().wait()  # no signal handlers here (Windows, not the main thread)
        return
    try:
        await stop.wait()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def check_app_token(settings: Settings, app_token: str) -> None:
    """Asks Slack for a Socket Mode address (what connecting starts with), so a token Slack
    refuses or a Slack out of reach is one line instead of endless retries."""
    try:
        async with aiohttp.ClientSession() as session:
            client = AsyncWebClient(
                base_url=settings.slack_api_url, session=session, timeout=SLACK_CHECK_TIMEOUT_S
            )
            await client.apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        response: Any = error.response
        code = str(response.get("error") or "unknown_error")
        if code in REFUSED_TOKEN_ERRORS:
            raise StartupError(
                f"Slack refused SLACK_APP_TOKEN ({code}): create an app-level token (xapp-...) "
                "with the connections:write scope under Basic Information > App-Level Tokens.",
                exit_code=EXIT_SETTINGS,
            ) from None
        raise StartupError(
            f"Slack wouldn't open a Socket Mode connection ({code}): check that Socket Mode "
            "is on for the app (Settings > Socket Mode)."
        ) from None
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        raise StartupError(
            f"Couldn't reach Slack at {settings.slack_api_url} to open a Socket Mode "
            f"connection ({type(error).__name__}): check the network, a proxy, and "
            "SLACK_API_URL."
        ) from None


class _DropRetries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to connect")


@contextmanager
def _quiet_retries() -> Iterator[None]:
    quiet = _DropRetries()
    CLIENT_LOGGER.addFilter(quiet)
    try:
        yield
    finally:
        CLIENT_LOGGER.removeFilter(quiet)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit_code(need_slack_credentials=True, socket_mode=True)
    if isinstance(settings, int):
        return settings
    app_token = settings.app_token() or ""
    start_logging(settings, args)
    return run_until_stopped(run_socket_mode(settings, app_token))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "socket",
        help="connect to Slack in Socket Mode (development)",
        description="Connect to Slack over Socket Mode; needs SLACK_APP_TOKEN (xapp-…).",
    )
    add_logging_arguments(parser)
    parser.set_defaults(run=run)

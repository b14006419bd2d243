"""`pmp-bot serve`: the production HTTP server (uvicorn), graceful on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
from typing import Any

import uvicorn

from bot.config import Settings
from bot.run.common import add_logging_arguments, settings_or_exit_code, start_logging
from bot.services import BotServices
from bot.slack.app import create_app
from bot.slack.web import create_web_app

logger = logging.getLogger(__name__)


async def serve(settings: Settings, host: str, port: int) -> None:
    services = await BotServices.start(settings)
    try:
        app = create_app(settings, services)
        web = create_web_app(app, services)
        config = uvicorn.Config(
            web,
            host=host,
            port=port,
            log_config=None,  # keep pmp-bot's own logging setup
            access_log=False,  # one line per Slack request is logged by pmp-bot itself
            lifespan="off",
            timeout_graceful_shutdown=15,
        )
        server = uvicorn.Server(config)
        mode = "OAuth (many workspaces)" if settings.oauth_enabled else "single workspace"
        logger.info(
            "pmp-bot serving Slack requests on http://%s:%s/slack/events (%s)", host, port, mode
        )
        # Everything built so far lives as long as the process: moving it out of the garbage
        # collector's view makes the full collections that pause the event loop shorter.
        gc.collect()
        gc.freeze()
        # uvicorn stops accepting on SIGTERM/SIGINT and lets requests in flight finish.
        await server.serve()
    finally:
        await services.aclose()


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit_code(need_slack_credentials=True)
    if isinstance(settings, int):
        return settings
    start_logging(settings, args)
    host: str = args.host or settings.host
    port: int = args.port or settings.port
    asyncio.run(serve(settings, host, port))
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve Slack's HTTP requests (production)",
        description=(
            "Serve Slack's requests over HTTP: POST /slack/events for commands, "
            "interactivity, options loads and events; GET /slack/install and "
            "/slack/oauth_redirect in OAuth mode; GET /healthz. Settings come from the "
            "environment and .env (see the README)."
        ),
    )
    parser.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: PORT or 3000)")
    add_logging_arguments(parser)
    parser.set_defaults(run=run)

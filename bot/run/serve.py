"""`pmp-bot serve`: the production HTTP server (uvicorn), graceful on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from bot.config import Settings
from bot.run.common import add_logging_arguments, settings_or_exit_code, start_logging
from bot.services import BotServices
from bot.slack.app import create_app
from bot.slack.web import create_web_app

logger = logging.getLogger(__name__)

# Connections and requests in flight together; past it uvicorn answers 503, which Slack
# retries, rather than let a flood of clients take all memory and file descriptors.
MAX_CONCURRENCY = 1000
# Longer than the idle timeout of the proxies that sit in front (nginx and AWS load balancers
# use 60 s): a proxy then never sends a request on a connection the bot has just closed.
KEEP_ALIVE_SECONDS = 75
# Headers still arriving are buffered up to this much (h11's limit); Slack's are under 2 KB.
MAX_HEADER_BYTES = 16 * 1024
# Connections the kernel holds for the bot while it is busy accepting others.
BACKLOG = 2048


def server_config(web: ASGIApp, **options: Any) -> uvicorn.Config:
    """uvicorn as pmp-bot runs it, with its limits; `options` adds address and shutdown."""
    return uvicorn.Config(
        web,
        http="h11",  # the header limit below is h11's
        limit_concurrency=MAX_CONCURRENCY,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        backlog=BACKLOG,
        log_config=None,  # keep pmp-bot's own logging setup
        access_log=False,  # one line per Slack request is logged by pmp-bot itself
        lifespan="off",
        **options,
    )


async def serve(settings: Settings, host: str, port: int) -> None:
    services = await BotServices.start(settings)
    try:
        app = create_app(settings, services)
        web = create_web_app(app, services)
        server = uvicorn.Server(
            server_config(web, host=host, port=port, timeout_graceful_shutdown=15)
        )
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

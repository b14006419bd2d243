"""The HTTP front door: Slack's request URL, the OAuth pages and a health check."""

from __future__ import annotations

import logging

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.observability import RequestTrace, current_trace
from bot.services import BotServices
from bot.slack.app import INSTALL_PATH, REDIRECT_PATH

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def create_web_app(app: AsyncApp, services: BotServices) -> Starlette:
    """One URL takes every Slack request (commands, interactivity, options loads, events)."""
    slack_handler = AsyncSlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        trace = RequestTrace()
        current_trace.set(trace)
        response = await slack_handler.handle(request)
        trace.mark_acked(response.status_code)
        return response

    async def oauth_pages(request: Request) -> Response:
        return await slack_handler.handle(request)

    async def healthz(request: Request) -> Response:
        if await services.database.ping():
            return JSONResponse({"ok": True})
        return JSONResponse({"ok": False, "error": "database unreachable"}, status_code=503)

    async def root(request: Request) -> Response:
        return PlainTextResponse("pmp-bot is running. Slack sends its requests to /slack/events.")

    routes = [
        Route(EVENTS_PATH, slack_events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/", root, methods=["GET"]),
    ]
    if app.oauth_flow is not None:
        routes += [
            Route(INSTALL_PATH, oauth_pages, methods=["GET"]),
            Route(REDIRECT_PATH, oauth_pages, methods=["GET"]),
        ]
    return Starlette(routes=routes)

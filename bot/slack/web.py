"""The HTTP front door: Slack's request URL, the OAuth pages and a health check."""

from __future__ import annotations

import logging

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.internals import parse_body
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.observability import RequestTrace, current_trace
from bot.services import BotServices
from bot.slack.app import INSTALL_PATH, REDIRECT_PATH

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"


def create_web_app(app: AsyncApp, services: BotServices) -> Starlette:
    """One URL takes every Slack request (commands, interactivity, options loads, events)."""
    slack_handler = AsyncSlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        if not _plausible_timestamp(request.headers.get(TIMESTAMP_HEADER)):
            # slack-sdk's verifier raises on a timestamp that is no number, which Bolt turns
            # into a 500: refuse such a request like any other badly signed one.
            return JSONResponse({"error": "invalid request"}, status_code=401)
        if not _readable_body(await request.body(), request.headers.get("content-type")):
            # Bolt parses the body before it checks the signature, and a body it cannot
            # parse would be a 500 with a traceback, even for a request nobody signed.
            return JSONResponse({"error": "invalid request"}, status_code=400)
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


def _plausible_timestamp(value: str | None) -> bool:
    """A missing header is left to Bolt's verification (it refuses it); a present one must be
    a whole number of seconds."""
    return value is None or value.strip().isdecimal()


def _readable_body(raw: bytes, content_type: str | None) -> bool:
    """Whether Bolt can read the body: UTF-8 text that parses into one JSON object."""
    try:
        parsed = parse_body(raw.decode("utf-8"), content_type)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return False
    return isinstance(parsed, dict) and _well_shaped(parsed)


# Keys of Slack payloads that Bolt reads into (`body["event"].get(...)`) before any listener
# runs, with the types Slack sends: anything else made Bolt fail with a 500.
_OBJECT_KEYS = ("event", "view", "container", "message", "previous_message")
_OBJECT_OR_ID_KEYS = ("team", "user", "channel", "enterprise")
_LIST_OF_OBJECTS_KEYS = ("authorizations", "actions", "response_urls")


def _well_shaped(body: dict[str, object]) -> bool:
    event = body.get("event")
    return _keys_well_shaped(body) and (not isinstance(event, dict) or _keys_well_shaped(event))


def _keys_well_shaped(body: dict[str, object]) -> bool:
    for key in _OBJECT_KEYS:
        if key in body and not isinstance(body[key], dict):
            return False
    for key in _OBJECT_OR_ID_KEYS:
        if body.get(key) is not None and not isinstance(body[key], dict | str):
            return False
    for key in _LIST_OF_OBJECTS_KEYS:
        value = body.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(item, dict) for item in value)
        ):
            return False
    return True

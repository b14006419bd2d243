"""Bolt middleware that gives every listener its workspace and the bot's services.

It runs after Bolt has verified the request's signature and authorized it, so the team id
comes from a payload Slack signed: a request from one workspace can only ever see that
workspace's record and PMP client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.context.async_context import AsyncBoltContext
from sqlalchemy.exc import SQLAlchemyError

from bot.observability import RequestTrace, current_trace
from bot.pmp_pool import WorkspaceKey
from bot.services import BotServices
from bot.slack.replies import RetryingRespond

logger = logging.getLogger(__name__)

DATABASE_DOWN = (
    "pmp-bot can't reach its database for a moment, so it couldn't do that. Try again in a minute."
)

Next = Callable[[], Awaitable[BoltResponse]]
Middleware = Callable[[AsyncBoltContext, dict[str, Any], Next], Awaitable[BoltResponse | None]]


def describe_request(body: dict[str, Any]) -> tuple[str, str]:
    """(kind, name) of a Slack payload for the request log: no user-typed text in it."""
    if "command" in body:
        words = str(body.get("text") or "").split(maxsplit=1)
        subcommand = words[0].lower()[:20] if words else ""
        return "command", f"{body['command']} {subcommand}".strip()
    kind = str(body.get("type") or "-")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return kind, str(actions[0].get("action_id") or "-")
    if kind in ("view_submission", "view_closed"):
        return kind, str((body.get("view") or {}).get("callback_id") or "-")
    if kind == "block_suggestion":
        return kind, str(body.get("action_id") or "-")
    if kind in ("shortcut", "message_action"):
        return kind, str(body.get("callback_id") or "-")
    if kind == "event_callback":
        return "event", str((body.get("event") or {}).get("type") or "-")
    return kind, "-"


def build_context_middleware(services: BotServices) -> Middleware:
    async def attach_workspace(
        context: AsyncBoltContext, body: dict[str, Any], next: Next
    ) -> BoltResponse | None:
        trace = current_trace.get()
        if trace is None:
            # Socket Mode and the console have no web layer to start the trace.
            trace = RequestTrace()
            current_trace.set(trace)
        trace.kind, trace.name = describe_request(body)
        trace.team = context.team_id or context.enterprise_id or "-"
        trace.user = context.user_id or "-"

        if not context.team_id and not context.enterprise_id:
            # Slack names the workspace in every request it sends; without one there is no
            # record to look up, and handlers could not answer anyway.
            return BoltResponse(status=400, body="")
        key = WorkspaceKey(team_id=context.team_id or "", enterprise_id=context.enterprise_id)
        context["services"] = services
        context["workspace_key"] = key
        if context.response_url:
            # Bolt's own respond drops a post Slack answers 429 or 5xx to.
            context["respond"] = RetryingRespond(
                response_url=context.response_url,
                proxy=context.client.proxy,
                ssl=context.client.ssl,
                session=services.slack_http,
            )
        try:
            context["workspace"] = await services.workspaces.get(key.team_id, key.enterprise_id)
        except (SQLAlchemyError, OSError) as error:
            logger.warning("The database is unreachable: %s", type(error).__name__)
            return await _database_down(context, body)
        return await next()

    return attach_workspace


async def _database_down(context: AsyncBoltContext, body: dict[str, Any]) -> BoltResponse:
    """The answer while the database is away (a restart, a failover): the person who asked
    hears so; what Slack can send again (events, modal submissions) gets a 503 so that
    nothing typed or announced is lost."""
    if "command" in body:
        message = {"response_type": "ephemeral", "text": DATABASE_DOWN}
        return BoltResponse(
            status=200, body=json.dumps(message), headers={"content-type": "application/json"}
        )
    respond = context.get("respond")
    if body.get("type") == "block_actions" and isinstance(respond, RetryingRespond):
        await respond(text=DATABASE_DOWN, replace_original=False)
        return BoltResponse(status=200, body="")
    return BoltResponse(status=503, body=DATABASE_DOWN)

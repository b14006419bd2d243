"""What the handlers share: the `/pmp` request a subcommand gets, the user of a payload,
opening and filling modals, saying a workspace isn't connected, and announcing a change.

A modal opens at once (a trigger id lives 3 seconds); whatever takes PMP time is filled in
afterwards with views.update (`open_then_fill`), so a slow PMP never costs the trigger.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.connect import not_connected_text
from bot.blocks.help import HelpEntry
from bot.grammar import Command, CommandAction, RecordKind
from bot.notify import notice_line
from bot.pmp import PmpError
from bot.pmp_pool import WorkspaceKey
from bot.records import UNCHANGED, WriteOutcome
from bot.services import BotServices
from bot.slack.replies import SOMETHING_WENT_WRONG, respond_quietly
from bot.slack.workspace_pmp import ConnectedPmp, NotConnectedError
from bot.storage import Workspace

logger = logging.getLogger(__name__)

OPEN_FAILED = "Slack didn't let me open the form in time. Try again."


# ------------------------------------------------------------------------ `/pmp` subcommands


@dataclass(frozen=True)
class CommandRequest:
    """One `/pmp` invocation, with everything a subcommand handler needs."""

    body: dict[str, Any]
    parsed: Command
    ack: AsyncAck
    respond: AsyncRespond
    client: AsyncWebClient
    services: BotServices
    workspace: Workspace | None
    key: WorkspaceKey

    @property
    def user_id(self) -> str:
        return str(self.body.get("user_id", ""))

    @property
    def trigger_id(self) -> str:
        return str(self.body.get("trigger_id", ""))

    @property
    def connected(self) -> bool:
        workspace = self.workspace
        return workspace is not None and bool(workspace.pmp_base_url) and workspace.is_connected


SubcommandHandler = Callable[[CommandRequest], Awaitable[None]]
Route = tuple[CommandAction, RecordKind | None]


@dataclass(frozen=True)
class Subcommand:
    handler: SubcommandHandler
    help: HelpEntry
    needs_connection: bool = True


# ------------------------------------------------------------------------------ payloads


def user_of(body: Mapping[str, Any]) -> str:
    """The user who pressed or submitted (an interaction payload's `user.id`)."""
    user = body.get("user")
    return str(user.get("id", "")) if isinstance(user, Mapping) else ""


def has_pmp(workspace: Workspace | None) -> bool:
    """Whether the workspace has been given a PMP (its token may still need re-entering)."""
    return workspace is not None and bool(workspace.pmp_base_url)


# -------------------------------------------------------------------------------- modals


async def open_view(
    client: AsyncWebClient,
    trigger_id: str,
    view: View,
    *,
    respond: AsyncRespond | None = None,
    push: bool = False,
) -> str | None:
    """Opens a modal (`push`: on top of the open one); its view id, or None when Slack refused
    (the trigger expired) or was out of reach. Then, given `respond`, the user is told to try
    again; without it there is nowhere to answer (a shortcut, a modal's button)."""
    try:
        if push:
            opened = await client.views_push(trigger_id=trigger_id, view=view)
        else:
            opened = await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        logger.warning("Opening a modal failed: %s", error.response.get("error"))
    except Exception:
        logger.warning("Slack couldn't be reached to open a modal", exc_info=True)
    else:
        return str((opened.get("view") or {}).get("id") or "") or None
    if respond is not None:
        await respond_quietly(respond, text=OPEN_FAILED, replace_original=False)
    return None


async def update_view(client: AsyncWebClient, view_id: str, view: View) -> None:
    """Replaces an open modal; never raises (the user may have closed it meanwhile)."""
    try:
        await client.views_update(view_id=view_id, view=view)
    except SlackApiError as error:
        logger.info("views.update failed: %s", error.response.get("error"))
    except Exception:
        logger.warning("Slack couldn't be reached to update a modal", exc_info=True)


async def open_then_fill(
    client: AsyncWebClient,
    trigger_id: str,
    *,
    loading: View,
    fill: Callable[[], Awaitable[View]],
    problem: Callable[[str], View],
    respond: AsyncRespond | None = None,
    push: bool = False,
) -> None:
    """Opens `loading` at once, then puts what `fill` builds in its place. When `fill` fails,
    `problem(text)` says why in plain text: the workspace isn't connected, PMP's own words,
    or that something went wrong on pmp-bot's side."""
    view_id = await open_view(client, trigger_id, loading, respond=respond, push=push)
    if view_id is None:
        return
    try:
        view = await fill()
    except NotConnectedError as error:
        view = problem(not_connected_text(reconnect=error.reconnect))
    except PmpError as error:
        view = problem(error.user_message)
    except Exception:
        logger.exception("Filling in a modal failed")
        view = problem(SOMETHING_WENT_WRONG)
    await update_view(client, view_id, view)


# ------------------------------------------------------------------------------- changes


def announce(services: BotServices, pmp: ConnectedPmp, user: str, outcome: WriteOutcome) -> None:
    """After a change: kept searches are stale, and the notify channel hears of it."""
    if outcome.verb == UNCHANGED:
        return
    services.lookups.forget_results(pmp.cache_scope)
    line = notice_line(user, outcome.verb, outcome.kind, outcome.label, outcome.url)
    services.notify(pmp.workspace, line)

"""Connecting, checking and disconnecting a workspace's PMP (admins only, except status)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.connect import (
    build_admins_only,
    build_connect_modal,
    build_connected_view,
    build_disconnect_prompt,
    build_disconnected,
    build_not_connected,
    build_status,
    not_connected_headline,
)
from bot.blocks.help import HelpEntry
from bot.blocks.ids import Action, Block, Callback
from bot.connect import connect_workspace, connection_status
from bot.grammar import CommandAction
from bot.pmp_pool import WorkspaceKey
from bot.services import BotServices
from bot.storage import Workspace
from handlers._common import CommandRequest, Route, Subcommand, open_view, user_of

logger = logging.getLogger(__name__)


async def handle_status_command(request: CommandRequest) -> None:
    await request.ack(
        blocks=build_status(connection_status(request.workspace)), text="PMP connection status"
    )


async def handle_connect_command(request: CommandRequest) -> None:
    await request.ack()
    admins = request.services.admins
    if not await admins.is_admin(request.client, request.key.team_id, request.user_id):
        await request.respond(
            blocks=build_admins_only("connect pmp-bot to PMP"), text="Admins only"
        )
        return
    current_url = request.workspace.pmp_base_url if request.workspace else None
    view = build_connect_modal(current_url)
    await open_view(request.client, request.trigger_id, view, respond=request.respond)


def _input_value(view: dict[str, Any], block_id: str, action_id: str) -> str:
    value = view.get("state", {}).get("values", {}).get(block_id, {}).get(action_id, {})
    return str(value.get("value") or "")


async def handle_connect_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace_key: WorkspaceKey,
) -> None:
    user_id = user_of(body)
    if not await services.admins.is_admin(client, workspace_key.team_id, user_id):
        await ack(
            response_action="errors",
            errors={Block.CONNECT_URL: "Only workspace admins and owners can connect PMP."},
        )
        return
    result = await connect_workspace(
        services.workspaces,
        workspace_key,
        raw_url=_input_value(view, Block.CONNECT_URL, Action.CONNECT_URL_INPUT),
        raw_token=_input_value(view, Block.CONNECT_TOKEN, Action.CONNECT_TOKEN_INPUT),
        connected_by=user_id,
        policy=services.settings.pmp_address_policy,
        require_https=services.settings.pmp_requires_https,
    )
    if not result.ok:
        errors = {}
        if result.url_error:
            errors[Block.CONNECT_URL.value] = result.url_error
        if result.token_error:
            errors[Block.CONNECT_TOKEN.value] = result.token_error
        await ack(response_action="errors", errors=errors)
        return
    await ack(response_action="update", view=build_connected_view(result.pmp_url or ""))
    logger.info("Workspace %s connected to PMP by %s", workspace_key.team_id, user_id)


async def handle_disconnect_command(request: CommandRequest) -> None:
    await request.ack()
    if not await request.services.admins.is_admin(
        request.client, request.key.team_id, request.user_id
    ):
        await request.respond(blocks=build_admins_only("disconnect PMP"), text="Admins only")
        return
    workspace = request.workspace
    if workspace is None or not workspace.pmp_base_url:
        await request.respond(blocks=build_not_connected(), text=not_connected_headline())
        return
    await request.respond(
        blocks=build_disconnect_prompt(workspace.pmp_base_url), text="Disconnect PMP?"
    )


async def handle_disconnect_confirmed(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack()
    user_id = user_of(body)
    if not await services.admins.is_admin(client, workspace_key.team_id, user_id):
        await respond(blocks=build_admins_only("disconnect PMP"), text="Admins only")
        return
    pmp_url = workspace.pmp_base_url if workspace else None
    if services.sources is not None:
        # While the token still works: the webhook is removed from PMP.
        await services.sources.forget(workspace_key.team_id, workspace_key.enterprise_id)
    await services.workspaces.clear_credentials(workspace_key.team_id, workspace_key.enterprise_id)
    await services.pmp_pool.forget(workspace_key)
    await respond(
        replace_original=True,
        blocks=build_disconnected(user_id, pmp_url),
        text="Disconnected from PMP.",
    )


async def handle_disconnect_cancelled(ack: AsyncAck, respond: AsyncRespond) -> None:
    await ack()
    await respond(delete_original=True)


def routes() -> dict[Route, Subcommand]:
    return {
        (CommandAction.STATUS, None): Subcommand(
            handle_status_command,
            HelpEntry("status", "shows whether this workspace is connected to PMP"),
            needs_connection=False,
        ),
        (CommandAction.CONNECT, None): Subcommand(
            handle_connect_command,
            HelpEntry("connect", "connects this workspace to your PMP", admin_only=True),
            needs_connection=False,
        ),
        (CommandAction.DISCONNECT, None): Subcommand(
            handle_disconnect_command,
            HelpEntry("disconnect", "forgets this workspace's PMP token", admin_only=True),
            needs_connection=False,
        ),
    }


def register(app: AsyncApp) -> None:
    app.view(Callback.CONNECT_MODAL.value)(handle_connect_submission)
    app.action(Action.DISCONNECT_CONFIRMED.value)(handle_disconnect_confirmed)
    app.action(Action.DISCONNECT_CANCELLED.value)(handle_disconnect_cancelled)

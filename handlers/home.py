"""The App Home tab, drawn whenever someone opens it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.home import build_home
from bot.pmp_pool import WorkspaceKey
from bot.services import BotServices
from bot.storage import Workspace
from handlers.commands import help_entries
from handlers.connect import connection_status

logger = logging.getLogger(__name__)


async def handle_app_home_opened(
    ack: AsyncAck,
    event: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack()
    if event.get("tab", "home") != "home":
        return
    user_id = str(event.get("user", ""))
    is_admin = await services.admins.is_admin(client, workspace_key.team_id, user_id)
    view = build_home(connection_status(workspace), is_admin=is_admin, commands=help_entries())
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        logger.warning("views.publish failed for the Home tab: %s", error.response.get("error"))


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(handle_app_home_opened)

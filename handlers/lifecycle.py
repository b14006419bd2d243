"""Uninstalls and revoked tokens or team access: forget everything pmp-bot stored for the
workspaces concerned."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.pmp_pool import WorkspaceKey
from bot.services import BotServices

logger = logging.getLogger(__name__)


async def forget_workspace(services: BotServices, key: WorkspaceKey) -> None:
    if services.sources is not None:
        # While PMP's token is still stored: the workspace's webhook is removed from PMP.
        await services.sources.forget(key.team_id, key.enterprise_id)
    await services.pmp_pool.forget(key)
    await services.workspaces.delete_workspace(key.team_id, key.enterprise_id)
    if services.oauth_stores is not None:
        await services.oauth_stores.delete_installations(key.enterprise_id, key.team_id or None)
    logger.info("Forgot workspace %s after an uninstall or token revocation", key.team_id)


async def handle_app_uninstalled(
    ack: AsyncAck, services: BotServices, workspace_key: WorkspaceKey
) -> None:
    await ack()
    await forget_workspace(services, workspace_key)


async def handle_tokens_revoked(
    ack: AsyncAck, event: dict[str, Any], services: BotServices, workspace_key: WorkspaceKey
) -> None:
    await ack()
    # Only a revoked bot token cuts the workspace off; pmp-bot stores no user tokens.
    if (event.get("tokens") or {}).get("bot"):
        await forget_workspace(services, workspace_key)


async def handle_team_access_revoked(
    ack: AsyncAck, event: dict[str, Any], services: BotServices, workspace_key: WorkspaceKey
) -> None:
    """An org-wide app lost some of the org's workspaces. The org is the one of the signed
    request, so an org can only ever make pmp-bot forget its own workspaces."""
    await ack()
    team_ids = event.get("team_ids")
    for team_id in team_ids if isinstance(team_ids, list) else []:
        if isinstance(team_id, str) and team_id:
            key = WorkspaceKey(team_id=team_id, enterprise_id=workspace_key.enterprise_id)
            await forget_workspace(services, key)


def register(app: AsyncApp) -> None:
    app.event("app_uninstalled")(handle_app_uninstalled)
    app.event("tokens_revoked")(handle_tokens_revoked)
    app.event("team_access_revoked")(handle_team_access_revoked)

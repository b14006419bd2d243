"""Org-wide installs (a whole Enterprise Grid organisation at once) are refused.

pmp-bot keeps one PMP connection, notify channel and set of settings per workspace, and an
org-wide install belongs to no workspace: Slack answers it with `team: null`, and what it
would later send carries the enterprise only. So the manifests keep `org_deploy_enabled: false`
and each workspace of an organisation installs pmp-bot on its own (its installation is kept
under its enterprise and team). Should an org admin still install org-wide (an app whose
settings were changed), the new token is revoked, nothing is stored, and the install page
says what to do instead.
"""

from __future__ import annotations

import html
import logging

from slack_bolt import BoltResponse
from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store import Installation

__all__ = [
    "ORG_INSTALL_REFUSED",
    "OrgInstallRefusedError",
    "WorkspaceOnlyOAuthFlow",
    "workspace_only_callbacks",
]

logger = logging.getLogger(__name__)

ORG_INSTALL_REFUSED = (
    "pmp-bot can't be installed on a whole Enterprise Grid organisation: each workspace "
    "connects its own PMP. Install it again and choose a workspace, not the organisation, "
    "on Slack's install page; repeat for every workspace that needs it."
)


class OrgInstallRefusedError(BoltError):
    """An org-wide install, undone (see the module docstring)."""


class WorkspaceOnlyOAuthFlow(AsyncOAuthFlow):
    """Bolt's OAuth flow, storing workspace installs only."""

    async def store_installation(
        self, request: AsyncBoltRequest, installation: Installation
    ) -> None:
        if installation.is_enterprise_install:
            await self._revoke(installation)
            logger.warning(
                "Refused an org-wide install for enterprise %s: pmp-bot is installed per workspace",
                installation.enterprise_id,
            )
            raise OrgInstallRefusedError(ORG_INSTALL_REFUSED)
        await super().store_installation(request, installation)

    async def _revoke(self, installation: Installation) -> None:
        # Without this the org would keep a working token pmp-bot knows nothing of.
        for token in (installation.bot_token, installation.user_token):
            if not token:
                continue
            try:
                await self.client.auth_revoke(token=token)
            except (SlackApiError, SlackClientError) as error:
                logger.warning("Revoking a refused org-wide install's token failed: %r", error)


async def _success(args: AsyncSuccessArgs) -> BoltResponse:
    return await args.default.success(args)


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    if not isinstance(args.error, OrgInstallRefusedError):
        return await args.default.failure(args)
    message = html.escape(ORG_INSTALL_REFUSED, quote=False)
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>pmp-bot: install it per workspace</title></head>"
        f"<body><h1>Install pmp-bot per workspace</h1><p>{message}</p></body></html>"
    )
    return BoltResponse(status=409, body=page, headers={"Content-Type": "text/html; charset=utf-8"})


def workspace_only_callbacks() -> AsyncCallbackOptions:
    """Bolt's install pages, with a page of its own for a refused org-wide install."""
    return AsyncCallbackOptions(success=_success, failure=_failure)

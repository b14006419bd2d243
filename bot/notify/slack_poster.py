"""Posting channel notices as the bot of the right workspace."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.storage import OAuthStores

logger = logging.getLogger(__name__)


class SlackPoster:
    """Posts a notice with the workspace's bot token: the one configured token in
    single-workspace mode, the installation's token in OAuth mode."""

    def __init__(
        self, settings: Settings, session: aiohttp.ClientSession, oauth: OAuthStores | None
    ) -> None:
        self._settings = settings
        self._session = session
        self._oauth = oauth

    async def _token_for(self, team_id: str) -> str | None:
        if self._oauth is None:
            return self._settings.bot_token()
        # By team and its enterprise: an Enterprise Grid workspace's bot is stored under both.
        bot = await self._oauth.installation_store.async_find_workspace_bot(team_id)
        return bot.bot_token if bot is not None else None

    async def client_for(self, team_id: str, enterprise_id: str | None) -> AsyncWebClient | None:
        """A Web API client with the workspace's bot token; None when it has none."""
        token = await self._token_for(team_id)
        if not token:
            return None
        return AsyncWebClient(
            token=token, base_url=self._settings.slack_api_url, session=self._session
        )

    async def __call__(self, team_id: str, channel_id: str, text: str) -> None:
        token = await self._token_for(team_id)
        if not token:
            logger.warning("No bot token for team %s; a notice was not posted", team_id)
            return
        client = AsyncWebClient(
            token=token, base_url=self._settings.slack_api_url, session=self._session
        )
        await client.chat_postMessage(
            channel=channel_id, text=text, unfurl_links=False, unfurl_media=False
        )


async def report_notice_failure(team_id: str, channel_id: str, error_code: str) -> None:
    """Notices that cannot be delivered are logged; `/pmp notify` tells admins how to fix
    the usual causes (the bot not invited, the channel archived)."""
    logger.warning(
        "Could not post notices to channel %s in team %s: %s", channel_id, team_id, error_code
    )

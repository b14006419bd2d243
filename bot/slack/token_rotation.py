"""Refreshing a rotating Slack bot token once, however many requests and instances need it.

Slack's refresh tokens work once. Bolt refreshes a token that expires within two hours while
it authorizes a request, so two requests arriving together (in one process or in two
instances) both spend the same refresh token; the second gets `invalid_refresh_token`, and
Bolt answers that request with "please install this app". Here the refresh of a workspace's
token runs under a lock (in the process, and across processes on PostgreSQL), and whoever
waited reads the installation again and uses the token the first one stored.
"""

from __future__ import annotations

import asyncio
import logging
import time

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.storage import Database

logger = logging.getLogger(__name__)


class SerializedRotationAuthorize(AsyncInstallationStoreAuthorize):
    """Bolt's installation-store authorize whose token refresh happens once per token."""

    def __init__(
        self,
        *,
        database: Database,
        installation_store: AsyncInstallationStore,
        client_id: str,
        client_secret: str,
        client: AsyncWebClient,
        logger: logging.Logger,
    ) -> None:
        super().__init__(
            logger=logger,
            installation_store=installation_store,
            client_id=client_id,
            client_secret=client_secret,
            client=client,
            # Spares an auth.test per request.
            cache_enabled=True,
        )
        self._database = database
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def _due(self, installation: Installation) -> bool:
        expires_at = installation.bot_token_expires_at
        window = self.token_rotation_expiration_minutes * 60
        return expires_at is not None and expires_at <= time.time() + window

    # Bolt has no public hook for the refresh; this method is where it happens.
    async def _rotate_and_save_tokens_if_necessary(
        self, installation: Installation | None
    ) -> Installation | None:
        if (
            installation is None
            or not installation.bot_refresh_token
            or not self._due(installation)
        ):
            return await super()._rotate_and_save_tokens_if_necessary(installation)
        key = (installation.enterprise_id or "", installation.team_id or "")
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock, self._database.exclusive(f"slack-token-rotation:{key[0]}:{key[1]}"):
            stored = await self._refreshed_meanwhile(installation)
            if stored is not None:
                return stored
            try:
                return await super()._rotate_and_save_tokens_if_necessary(installation)
            except SlackTokenRotationError:
                # Another process without a shared lock (SQLite) may have spent it first.
                stored = await self._refreshed_meanwhile(installation)
                if stored is None:
                    raise
                return stored

    async def _refreshed_meanwhile(self, installation: Installation) -> Installation | None:
        """The installation with the bot token another request stored after `installation`
        was read, or None when it still holds the latest token."""
        latest = await self.installation_store.async_find_installation(
            enterprise_id=installation.enterprise_id,
            team_id=installation.team_id,
            is_enterprise_install=installation.is_enterprise_install,
        )
        if latest is None or latest.bot_token == installation.bot_token or self._due(latest):
            return None
        logger.info("Slack token of %s was refreshed by another request", installation.team_id)
        refreshed = Installation(**installation.to_dict_for_copying())
        refreshed.bot_token = latest.bot_token
        refreshed.bot_refresh_token = latest.bot_refresh_token
        refreshed.bot_token_expires_at = latest.bot_token_expires_at
        return refreshed

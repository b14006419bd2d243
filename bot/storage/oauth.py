"""Slack OAuth (multi-workspace) storage: slack-sdk's async SQLAlchemy stores on our database.

slack-sdk 3.48 ships async SQLAlchemy stores (``AsyncSQLAlchemyInstallationStore``,
``AsyncSQLAlchemyOAuthStateStore``); they are used here with two changes:

- Slack tokens (bot, user, refresh) and incoming-webhook URLs are encrypted at rest with the same
  keys as PMP tokens, so a copy of the database alone gives no access to any workspace.
- Consuming an OAuth state is a single conditional DELETE, so one state works once even when
  two instances receive the same redirect; expired states are purged when new ones are issued.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any, NamedTuple

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import Dialect, Text, and_, desc, literal, select, type_coerce
from sqlalchemy.types import TypeDecorator

from bot.crypto import TokenCipher, TokenDecryptionError
from bot.storage.database import Database

__all__ = [
    "DEFAULT_STATE_EXPIRATION_SECONDS",
    "EncryptedInstallationStore",
    "OAuthStateStore",
    "OAuthStores",
    "build_oauth_stores",
]

logger = logging.getLogger(__name__)

DEFAULT_STATE_EXPIRATION_SECONDS = 600

# Columns of slack-sdk's installation and bot tables that grant access to a workspace.
_SECRET_COLUMNS = frozenset(
    {
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    }
)


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with a TokenCipher on the way in and decrypted on the way out."""

    # TEXT rather than slack-sdk's VARCHAR(200): ciphertext is longer than the token.
    impl = Text
    cache_ok = True

    def __init__(self, cipher: TokenCipher) -> None:
        super().__init__()
        self.cipher = cipher

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.cipher.encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.cipher.decrypt(str(value))


def _encrypt_secrets(store: AsyncSQLAlchemyInstallationStore, cipher: TokenCipher) -> None:
    encrypted = EncryptedText(cipher)
    for table in (store.installations, store.bots):
        for column in table.columns:
            if column.name in _SECRET_COLUMNS:
                column.type = encrypted


class EncryptedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack-sdk's async SQLAlchemy installation store with its secrets encrypted at rest."""

    def __init__(
        self, client_id: str, engine: Any, cipher: TokenCipher, *, write_engine: Any = None
    ) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self._cipher = cipher
        _encrypt_secrets(self, cipher)
        # slack-sdk saves with a SELECT and then an INSERT or UPDATE in one transaction. On
        # SQLite such a transaction fails at once ("database is locked") when another
        # connection wrote in between, so saves go through an engine whose transactions take
        # the write lock at BEGIN (Database.write_engine) and wait their turn instead.
        self._writer: AsyncSQLAlchemyInstallationStore | None = None
        if write_engine is not None and write_engine is not engine:
            self._writer = AsyncSQLAlchemyInstallationStore(
                client_id=client_id, engine=write_engine
            )
            _encrypt_secrets(self._writer, cipher)

    async def async_save(self, installation: Installation) -> None:
        if self._writer is None:
            await super().async_save(installation)
        else:
            await self._writer.async_save(installation)

    async def async_save_bot(self, bot: Bot) -> None:
        if self._writer is None:
            await super().async_save_bot(bot)
        else:
            await self._writer.async_save_bot(bot)

    def __repr__(self) -> str:
        return f"EncryptedInstallationStore(client_id={self.client_id!r})"

    async def async_find_workspace_bot(self, team_id: str) -> Bot | None:
        """The bot of the workspace `team_id`, for work that knows only the team (channel
        notices). slack-sdk keys an installation by enterprise and team, and a lookup with
        no enterprise finds nothing for an Enterprise Grid workspace, so the enterprise is
        read from the workspace's latest installation and the bot found by both."""
        columns = self.bots.c
        query = (
            select(columns.enterprise_id)
            .where(
                and_(
                    columns.client_id == self.client_id,
                    columns.team_id == team_id,
                    # Org-wide installs are refused (bot/slack/org_installs.py).
                    columns.is_enterprise_install.is_not(True),
                )
            )
            .order_by(desc(columns.installed_at))
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        bot: Bot | None = await self.async_find_bot(
            enterprise_id=row.enterprise_id, team_id=team_id, is_enterprise_install=False
        )
        return bot

    async def async_find_bot(self, *args: Any, **kwargs: Any) -> Bot | None:
        # A bot token no configured key opens (PMP_BOT_SECRET_KEY lost or changed) is an
        # installation that is gone: Bolt then asks the workspace to reinstall pmp-bot.
        try:
            bot: Bot | None = await super().async_find_bot(*args, **kwargs)
        except TokenDecryptionError:
            logger.warning("A workspace's Slack bot token can't be decrypted; it must reinstall")
            return None
        return bot

    async def async_find_installation(self, *args: Any, **kwargs: Any) -> Installation | None:
        try:
            found: Installation | None = await super().async_find_installation(*args, **kwargs)
        except TokenDecryptionError:
            logger.warning("A workspace's Slack installation can't be decrypted; it must reinstall")
            return None
        return found

    async def check_stored_token(self) -> bool | None:
        """Whether PMP_BOT_SECRET_KEY opens the latest stored bot token (None: none stored)."""
        raw = type_coerce(self.bots.c.bot_token, Text())
        query = (
            select(raw)
            .where(self.bots.c.client_id == self.client_id, self.bots.c.bot_token.is_not(None))
            .order_by(desc(self.bots.c.installed_at))
            .limit(1)
        )
        async with self.engine.connect() as conn:
            stored = (await conn.execute(query)).scalar_one_or_none()
        return None if stored is None else self._cipher.can_decrypt(str(stored))

    async def delete_workspace(self, enterprise_id: str | None, team_id: str | None) -> None:
        """Remove every bot and user installation of a workspace or org (app_uninstalled)."""
        await self.async_delete_all(enterprise_id=enterprise_id or None, team_id=team_id or None)

    async def reencrypt_all(self) -> int:
        """Re-encrypt every stored Slack secret not yet under the first key (key rotation).

        Returns how many values changed. A value no configured key opens is skipped and
        logged; that workspace has to reinstall the app.
        """
        changed = 0
        for table in (self.installations, self.bots):
            # Read and write the ciphertext itself, bypassing EncryptedText.
            secret_columns = [c for c in table.columns if c.name in _SECRET_COLUMNS]
            raw = {c.name: type_coerce(c, Text()) for c in secret_columns}
            async with self.engine.connect() as conn:
                rows = (
                    (
                        await conn.execute(
                            select(table.c.id, *(raw[c.name].label(c.name) for c in secret_columns))
                        )
                    )
                    .mappings()
                    .all()
                )
            async with self.engine.begin() as conn:
                for row in rows:
                    for name, old in row.items():
                        if name == "id" or old is None or self._cipher.is_current(old):
                            continue
                        try:
                            new = self._cipher.rotate(old)
                        except TokenDecryptionError:
                            logger.warning(
                                "A Slack secret (%s row %s, %s) cannot be opened with any "
                                "configured key; that workspace has to reinstall pmp-bot.",
                                table.name,
                                row["id"],
                                name,
                            )
                            continue
                        result = await conn.execute(
                            table.update()
                            .where(table.c.id == row["id"], raw[name] == old)
                            .values({table.c[name]: literal(new, Text())})
                        )
                        changed += result.rowcount
        return changed


class OAuthStateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack-sdk's async SQLAlchemy OAuth state store; each state can be consumed only once."""

    def __repr__(self) -> str:
        return f"OAuthStateStore(expiration_seconds={self.expiration_seconds})"

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        # Abandoned installs leave states behind; purge them while we are writing anyway.
        async with self.engine.begin() as conn:
            await conn.execute(
                self.oauth_states.delete().where(self.oauth_states.c.expire_at <= _naive_utc_now())
            )
        state: str = await super().async_issue(*args, **kwargs)
        return state

    async def async_consume(self, state: str) -> bool:
        columns = self.oauth_states.c
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(
                    self.oauth_states.delete().where(
                        and_(columns.state == state, columns.expire_at > _naive_utc_now())
                    )
                )
        except Exception:  # a failed lookup must fail the install, not crash the redirect
            self.logger.warning("Could not consume an OAuth state", exc_info=True)
            return False
        return result.rowcount > 0


class OAuthStores(NamedTuple):
    installation_store: EncryptedInstallationStore
    state_store: OAuthStateStore

    async def delete_installations(self, enterprise_id: str | None, team_id: str | None) -> None:
        await self.installation_store.delete_workspace(enterprise_id, team_id)

    async def reencrypt_all(self) -> int:
        return await self.installation_store.reencrypt_all()


async def build_oauth_stores(
    db_or_url: Database | str,
    client_id: str,
    *,
    cipher: TokenCipher,
    state_expiration_seconds: int = DEFAULT_STATE_EXPIRATION_SECONDS,
) -> OAuthStores:
    """slack-sdk's installation and OAuth state stores on pmp-bot's database, tables created.

    ``cipher`` encrypts the Slack tokens (use the one of WorkspaceStore). Given a URL rather
    than a Database, a new engine is created; dispose of it with
    ``await stores.installation_store.engine.dispose()``.
    """
    db = await Database.connect(db_or_url) if isinstance(db_or_url, str) else db_or_url
    stores = OAuthStores(
        installation_store=EncryptedInstallationStore(
            client_id, db.engine, cipher, write_engine=db.write_engine
        ),
        state_store=OAuthStateStore(expiration_seconds=state_expiration_seconds, engine=db.engine),
    )
    await db.create_tables(stores.installation_store.metadata, stores.state_store.metadata)
    return stores


def _naive_utc_now() -> datetime:
    # slack-sdk's tables store naive UTC datetimes (see slack_sdk.oauth.sqlalchemy_utils).
    return datetime.fromtimestamp(time.time(), tz=UTC).replace(tzinfo=None)

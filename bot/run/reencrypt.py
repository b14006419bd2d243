"""`pmp-bot reencrypt`: after adding a new first key, re-encrypt everything stored with it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.config import Settings, SettingsError
from bot.run.common import (
    StartupError,
    check_data_dir,
    settings_or_exit_code,
    storage_startup_error,
)
from bot.storage import Database, SchemaVersionError, WorkspaceStore, build_oauth_stores
from bot.storage.database import DatabaseUnavailableError


async def reencrypt(settings: Settings) -> tuple[int, int]:
    """(PMP tokens changed, Slack secrets changed). Safe to run again. Raises StartupError
    when the storage can't be opened."""
    check_data_dir(settings)
    try:
        database = await Database.connect(settings.async_database_url)
    except DatabaseUnavailableError as error:
        raise storage_startup_error(error) from None
    try:
        try:
            await database.create_schema()
            cipher = settings.token_cipher()
        except (SettingsError, DatabaseUnavailableError, SchemaVersionError) as error:
            raise storage_startup_error(error) from None
        pmp_tokens = await WorkspaceStore(database, cipher).reencrypt_all()
        slack_secrets = 0
        if settings.oauth_enabled:
            stores = await build_oauth_stores(
                database, settings.slack_client_id or "", cipher=cipher
            )
            slack_secrets = await stores.reencrypt_all()
        return pmp_tokens, slack_secrets
    finally:
        await database.dispose()


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit_code(need_slack_credentials=False)
    if isinstance(settings, int):
        return settings
    try:
        pmp_tokens, slack_secrets = asyncio.run(reencrypt(settings))
    except StartupError as error:
        print(f"pmp-bot: {error}", file=sys.stderr)
        return error.exit_code
    print(
        f"Re-encrypted {pmp_tokens} PMP token(s) and {slack_secrets} Slack secret(s) "
        "with the first key in PMP_BOT_SECRET_KEY."
    )
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reencrypt",
        help="re-encrypt stored tokens with the first PMP_BOT_SECRET_KEY key",
        description=(
            "Key rotation: set PMP_BOT_SECRET_KEY=NEW,OLD, run this once, then drop OLD. "
            "Values already under the first key are left alone, so it is safe to repeat."
        ),
    )
    parser.set_defaults(run=run)

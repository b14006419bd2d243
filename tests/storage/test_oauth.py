from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import event, inspect, select, text

from bot.crypto import TokenCipher
from bot.storage import Database, OAuthStores, build_oauth_stores
from tests.storage.conftest import DatabaseTarget

BOT_TOKEN = "xoxb-111-222-secretbottoken"
USER_TOKEN = "xoxp-111-222-secretusertoken"
REFRESH_TOKEN = "xoxe-1-secretrefreshtoken"
WEBHOOK = "https://hooks.slack.com/services/T1/B1/secretwebhook"


@pytest.fixture
async def stores(db: Database, cipher: TokenCipher) -> OAuthStores:
    return await build_oauth_stores(db, "1234.5678", cipher=cipher)


def _installation(
    team_id: str | None, enterprise_id: str | None = None, **extra: object
) -> Installation:
    return Installation(
        app_id="A1",
        enterprise_id=enterprise_id,
        team_id=team_id,
        user_id="UINSTALLER",
        bot_token=f"{BOT_TOKEN}-{team_id}",
        bot_id="B1",
        bot_user_id="UBOT",
        bot_scopes="commands,chat:write,users:read",
        bot_refresh_token=REFRESH_TOKEN,
        bot_token_expires_in=43200,
        user_token=USER_TOKEN,
        incoming_webhook_url=WEBHOOK,
        **extra,  # type: ignore[arg-type]
    )


async def test_tables_are_created(stores: OAuthStores, db: Database) -> None:
    async with db.read() as conn:
        names = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    assert {"slack_installations", "slack_bots", "slack_oauth_states"} <= names


async def test_installation_round_trip(stores: OAuthStores) -> None:
    store = stores.installation_store
    await store.async_save(_installation("T1"))
    found = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert found is not None
    assert found.bot_token == f"{BOT_TOKEN}-T1"
    assert found.user_token == USER_TOKEN
    assert found.bot_refresh_token == REFRESH_TOKEN
    assert found.incoming_webhook_url == WEBHOOK
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == f"{BOT_TOKEN}-T1"
    assert await store.async_find_installation(enterprise_id=None, team_id="T2") is None
    assert BOT_TOKEN not in repr(store)


async def test_slack_tokens_are_encrypted_at_rest(stores: OAuthStores, db: Database) -> None:
    await stores.installation_store.async_save(_installation("T1"))
    async with db.read() as conn:
        row = (
            (
                await conn.execute(
                    text(
                        "SELECT bot_token, user_token, bot_refresh_token, incoming_webhook_url "
                        "FROM slack_installations"
                    )
                )
            )
            .mappings()
            .one()
        )
        bot_token = (await conn.execute(text("SELECT bot_token FROM slack_bots"))).scalar_one()
    for value in [*row.values(), bot_token]:
        assert value.startswith("gAAAAA")
        assert "secret" not in value


async def test_delete_installations_removes_only_that_workspace(stores: OAuthStores) -> None:
    store = stores.installation_store
    await store.async_save(_installation("T1"))
    await store.async_save(_installation("T2"))
    await stores.delete_installations(None, "T1")
    assert await store.async_find_installation(enterprise_id=None, team_id="T1") is None
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
    remaining = await store.async_find_installation(enterprise_id=None, team_id="T2")
    assert remaining is not None and remaining.bot_token == f"{BOT_TOKEN}-T2"


async def test_enterprise_org_wide_install(stores: OAuthStores) -> None:
    store = stores.installation_store
    await store.async_save(_installation(None, "E1", is_enterprise_install=True))
    found = await store.async_find_installation(
        enterprise_id="E1", team_id="T9", is_enterprise_install=True
    )
    assert found is not None and found.bot_token == f"{BOT_TOKEN}-None"
    await stores.delete_installations("E1", "")  # "" as the WorkspaceStore writes it
    assert (
        await store.async_find_installation(
            enterprise_id="E1", team_id=None, is_enterprise_install=True
        )
        is None
    )


async def test_a_workspace_bot_is_found_by_its_team_within_its_enterprise(
    stores: OAuthStores,
) -> None:
    store = stores.installation_store
    await store.async_save(_installation("T1"))
    await store.async_save(_installation("T7", enterprise_id="E1"))
    # An org-wide install of the same enterprise is never mistaken for the workspace's.
    await store.async_save(_installation(None, enterprise_id="E1", is_enterprise_install=True))
    plain = await store.async_find_workspace_bot("T1")
    assert plain is not None and plain.bot_token == f"{BOT_TOKEN}-T1"
    grid = await store.async_find_workspace_bot("T7")
    assert grid is not None and (grid.enterprise_id, grid.team_id) == ("E1", "T7")
    assert grid.bot_token == f"{BOT_TOKEN}-T7"
    # slack-sdk's own lookup without the enterprise finds nothing for the Grid workspace.
    assert await store.async_find_bot(enterprise_id=None, team_id="T7") is None
    assert await store.async_find_workspace_bot("T404") is None


async def test_oauth_state_is_consumed_once(stores: OAuthStores) -> None:
    state = await stores.state_store.async_issue()
    assert await stores.state_store.async_consume(state) is True
    assert await stores.state_store.async_consume(state) is False
    assert await stores.state_store.async_consume("never-issued") is False


async def test_expired_state_is_refused_and_purged(stores: OAuthStores, db: Database) -> None:
    table = stores.state_store.oauth_states
    expired_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    async with db.write() as conn:
        await conn.execute(table.insert().values(state="stale", expire_at=expired_at))
    assert await stores.state_store.async_consume("stale") is False
    fresh = await stores.state_store.async_issue()
    async with db.read() as conn:
        states = set((await conn.execute(select(table.c.state))).scalars())
    assert states == {fresh}


async def test_states_consumed_by_racing_instances_work_once(
    stores: OAuthStores, target: DatabaseTarget, cipher: TokenCipher
) -> None:
    other_db = await target.connect()
    try:
        other = await build_oauth_stores(other_db, "1234.5678", cipher=cipher)
        state = await stores.state_store.async_issue()
        outcomes = await asyncio.gather(
            stores.state_store.async_consume(state),
            other.state_store.async_consume(state),
            stores.state_store.async_consume(state),
        )
    finally:
        await other_db.dispose()
    assert sorted(outcomes) == [False, False, True]


async def test_built_from_a_url(tmp_path: Path, cipher: TokenCipher) -> None:
    stores = await build_oauth_stores(f"sqlite:///{tmp_path}/oauth.sqlite3", "1.2", cipher=cipher)
    try:
        await stores.installation_store.async_save(_installation("T1"))
        found = await stores.installation_store.async_find_bot(enterprise_id=None, team_id="T1")
        assert found is not None
    finally:
        await stores.installation_store.engine.dispose()
    contents = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"UINSTALLER" in contents
    assert b"secret" not in contents


async def test_key_rotation_reencrypts_slack_secrets(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    old_key, new_key = TokenCipher.generate_key(), TokenCipher.generate_key()
    before = await build_oauth_stores(db, "1.2", cipher=TokenCipher.from_keys([old_key]))
    await before.installation_store.async_save(_installation("T1"))

    rotating = await build_oauth_stores(db, "1.2", cipher=TokenCipher.from_keys([new_key, old_key]))
    # installations: bot, bot refresh, user token and webhook; bots: bot and refresh token.
    assert await rotating.reencrypt_all() == 6
    assert await rotating.reencrypt_all() == 0

    new_only = await build_oauth_stores(db, "1.2", cipher=TokenCipher.from_keys([new_key]))
    found = await new_only.installation_store.async_find_installation(
        enterprise_id=None, team_id="T1"
    )
    assert found is not None
    assert (found.bot_token, found.user_token, found.incoming_webhook_url) == (
        f"{BOT_TOKEN}-T1",
        USER_TOKEN,
        WEBHOOK,
    )
    bot = await new_only.installation_store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_refresh_token == REFRESH_TOKEN

    stranger = await build_oauth_stores(
        db, "1.2", cipher=TokenCipher.from_keys([TokenCipher.generate_key()])
    )
    await stranger.installation_store.async_save(_installation("T2"))
    with caplog.at_level(logging.WARNING, logger="bot.storage.oauth"):
        assert await new_only.reencrypt_all() == 0
    assert "reinstall" in caplog.text
    for secret in (BOT_TOKEN, USER_TOKEN, REFRESH_TOKEN, WEBHOOK):
        assert secret not in caplog.text


async def test_saving_an_installation_waits_for_the_write_lock_on_sqlite(
    stores: OAuthStores, db: Database
) -> None:
    # slack-sdk saves with a SELECT, then an INSERT, in one transaction; on SQLite a deferred
    # BEGIN there fails at once ("database is locked") when another connection wrote between
    # the two, so the transaction must take the write lock at BEGIN.
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split()[0].upper() + " " + " ".join(statement.split()[1:2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await stores.installation_store.async_save(_installation("T1"))
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)

    inserts = [i for i, s in enumerate(statements) if s.startswith("INSERT")]
    assert len(inserts) == 2  # the installation, then its bot
    begins = [i for i, s in enumerate(statements) if s.startswith("BEGIN")]
    if db.dialect_name == "sqlite":
        assert all(statements[i] == "BEGIN IMMEDIATE" for i in begins), statements
        assert len(begins) == 2, statements
    assert await stores.installation_store.async_find_bot(enterprise_id=None, team_id="T1")

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.crypto import TokenCipher
from bot.names import TicketSettings
from bot.storage import (
    Database,
    IdempotencyStore,
    RecentLookupsStore,
    WorkspaceStore,
)
from bot.storage.schema import workspaces
from tests.storage.conftest import DatabaseTarget

TOKEN_A = "pmp-token-of-team-a-7f3e9b"
TOKEN_B = "pmp-token-of-team-b-c41d02"
URL_A = "https://crm.a.example"
URL_B = "https://b.example/crm"
T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db: Database, cipher: TokenCipher) -> WorkspaceStore:
    return WorkspaceStore(db, cipher)


async def test_unknown_workspace(store: WorkspaceStore) -> None:
    assert await store.get("T404") is None
    assert await store.get_credentials("T404") is None
    assert await store.clear_credentials("T404") is False
    assert await store.delete_workspace("T404") is False
    assert await store.get_ticket_settings("T404") == TicketSettings.fresh_install()


async def test_save_and_read_credentials(store: WorkspaceStore) -> None:
    version = await store.save_credentials("TA", None, URL_A, TOKEN_A, "UADMIN", now=T0)
    assert version == 1

    workspace = await store.get("TA")
    assert workspace is not None
    assert workspace.team_id == "TA"
    assert workspace.enterprise_id is None
    assert workspace.pmp_base_url == URL_A
    assert workspace.is_connected is True
    assert workspace.connected_by == "UADMIN"
    assert workspace.connected_at == T0
    assert workspace.connected_at.tzinfo is not None
    assert workspace.credentials_version == 1
    assert workspace.last_pmp_success_at is None
    assert workspace.notify_channel_id is None

    credentials = await store.get_credentials("TA")
    assert credentials is not None
    assert credentials.base_url == URL_A
    assert credentials.token.get_secret_value() == TOKEN_A
    assert credentials.version == 1


async def test_reprs_never_show_the_token(store: WorkspaceStore) -> None:
    await store.save_credentials("TA", None, URL_A, TOKEN_A, "UADMIN")
    workspace = await store.get("TA")
    credentials = await store.get_credentials("TA")
    for text in (repr(workspace), str(workspace), repr(credentials), str(credentials)):
        assert TOKEN_A not in text
    assert not hasattr(workspace, "token")


async def test_inputs_are_trimmed_and_empty_ones_refused(store: WorkspaceStore) -> None:
    await store.save_credentials("TA", None, f"  {URL_A} ", f"\t{TOKEN_A}\n", "U1")
    credentials = await store.get_credentials("TA")
    assert credentials is not None
    assert (credentials.base_url, credentials.token.get_secret_value()) == (URL_A, TOKEN_A)
    with pytest.raises(ValueError, match="token"):
        await store.save_credentials("TA", None, URL_A, "  ", "U1")
    with pytest.raises(ValueError, match="base_url"):
        await store.save_credentials("TA", None, "", TOKEN_A, "U1")
    with pytest.raises(ValueError, match="team_id or an enterprise_id"):
        await store.get("", None)


async def test_every_credential_change_bumps_the_version(store: WorkspaceStore) -> None:
    assert await store.save_credentials("TA", None, URL_A, TOKEN_A, "U1") == 1
    assert await store.save_credentials("TA", None, URL_A, "other-token", "U2") == 2
    credentials = await store.get_credentials("TA")
    assert credentials is not None
    assert credentials.token.get_secret_value() == "other-token"
    assert credentials.version == 2

    await store.set_notify_channel("TA", None, "C123")  # not a credential change
    assert (await store.get("TA")).credentials_version == 2  # type: ignore[union-attr]

    assert await store.clear_credentials("TA") is True
    workspace = await store.get("TA")
    assert workspace is not None
    assert workspace.credentials_version == 3
    assert workspace.is_connected is False
    assert workspace.pmp_base_url is None
    assert workspace.connected_by is None
    assert workspace.notify_channel_id == "C123"  # the rest of the workspace stays
    assert await store.get_credentials("TA") is None
    assert await store.clear_credentials("TA") is False
    assert (await store.get("TA")).credentials_version == 3  # type: ignore[union-attr]

    assert await store.save_credentials("TA", None, URL_B, TOKEN_B, "U3") == 4


async def test_notify_channel(store: WorkspaceStore) -> None:
    await store.set_notify_channel("TA", None, "C0NOTIFY")
    workspace = await store.get("TA")
    assert workspace is not None
    assert workspace.notify_channel_id == "C0NOTIFY"
    assert workspace.is_connected is False
    await store.set_notify_channel("TA", None, None)
    assert (await store.get("TA")).notify_channel_id is None  # type: ignore[union-attr]


async def test_mark_pmp_success_writes_at_most_once_a_minute(
    store: WorkspaceStore, db: Database, cipher: TokenCipher
) -> None:
    await store.mark_pmp_success("TA", None, T0)  # not connected: nothing to mark
    assert await store.get("TA") is None

    await store.save_credentials("TA", None, URL_A, TOKEN_A, "U1", now=T0)
    before = await store.get("TA")
    assert before is not None
    await store.mark_pmp_success("TA", None, T0)
    assert (await store.get("TA")).last_pmp_success_at == T0  # type: ignore[union-attr]

    await store.mark_pmp_success("TA", None, T0 + timedelta(seconds=30))
    assert (await store.get("TA")).last_pmp_success_at == T0  # type: ignore[union-attr]

    # Another process (its own store, no in-memory memo) is throttled by the database too.
    other_process = WorkspaceStore(db, cipher)
    await other_process.mark_pmp_success("TA", None, T0 + timedelta(seconds=40))
    assert (await store.get("TA")).last_pmp_success_at == T0  # type: ignore[union-attr]

    later = T0 + timedelta(seconds=90)
    await store.mark_pmp_success("TA", None, later)
    after = await store.get("TA")
    assert after is not None
    assert after.last_pmp_success_at == later
    # Display-only bookkeeping changes neither the version nor the update time.
    assert after.credentials_version == before.credentials_version
    assert after.updated_at == before.updated_at

    # New credentials: the old success no longer says anything about them.
    await store.save_credentials("TA", None, URL_B, TOKEN_B, "U1")
    assert (await store.get("TA")).last_pmp_success_at is None  # type: ignore[union-attr]
    await store.mark_pmp_success("TA", None, later + timedelta(seconds=1))
    assert (await store.get("TA")).last_pmp_success_at is not None  # type: ignore[union-attr]


async def test_last_failure_is_kept_and_the_next_success_is_written_at_once(
    store: WorkspaceStore,
) -> None:
    await store.mark_pmp_failure("TA", None, what="PMP answered HTTP 500", when=T0)
    assert await store.get("TA") is None  # not connected: nothing to mark

    await store.save_credentials("TA", None, URL_A, TOKEN_A, "U1", now=T0)
    await store.mark_pmp_success("TA", None, T0)
    failed = T0 + timedelta(seconds=5)
    await store.mark_pmp_failure("TA", None, what="PMP answered HTTP 500", when=failed)
    workspace = await store.get("TA")
    assert workspace is not None
    assert workspace.last_pmp_failure_at == failed
    assert workspace.last_pmp_failure == "PMP answered HTTP 500"
    assert workspace.last_pmp_success_at == T0

    # Within the minute that throttles successes, but after a failure: written.
    recovered = T0 + timedelta(seconds=10)
    await store.mark_pmp_success("TA", None, recovered)
    assert (await store.get("TA")).last_pmp_success_at == recovered  # type: ignore[union-attr]
    # And throttled again after that.
    await store.mark_pmp_success("TA", None, recovered + timedelta(seconds=5))
    assert (await store.get("TA")).last_pmp_success_at == recovered  # type: ignore[union-attr]

    # An older failure written late never replaces a newer one.
    await store.mark_pmp_failure("TA", None, what="PMP couldn't be reached", when=T0)
    assert (await store.get("TA")).last_pmp_failure_at == failed  # type: ignore[union-attr]

    # New credentials: failures of the old ones say nothing about them.
    await store.save_credentials("TA", None, URL_B, TOKEN_B, "U1")
    fresh = await store.get("TA")
    assert fresh is not None
    assert fresh.last_pmp_failure_at is None and fresh.last_pmp_failure is None


async def test_ticket_settings(store: WorkspaceStore) -> None:
    assert await store.get_ticket_settings("TA") == TicketSettings.fresh_install()
    settings = TicketSettings(
        departments={1: "Support", 4: "Billing"},
        priorities={0: "None", 1: "Low", 3: "High"},
        services={7: "Hosting"},
        statuses={1: "Open", 5: "Closed"},
    )
    await store.set_ticket_settings("TA", None, settings)
    loaded = await store.get_ticket_settings("TA")
    assert loaded == settings
    assert dict(loaded.departments) == {1: "Support", 4: "Billing"}
    assert loaded.name_of("services", 7) == "Hosting"
    assert loaded.id_of("departments", " billing ") == 4
    assert loaded.id_of("departments", "Sales") is None
    assert (await store.get("TA")).ticket_settings == settings  # type: ignore[union-attr]


async def test_allowing_edits_that_lose_record_one_files_is_off_until_an_admin_chooses(
    store: WorkspaceStore,
) -> None:
    await store.save_credentials("TA", None, URL_A, TOKEN_A, "UADMIN", now=T0)
    await store.save_credentials("TB", None, URL_B, TOKEN_B, "UADMIN", now=T0)
    workspace = await store.get("TA")
    assert workspace is not None and workspace.allow_first_record_file_loss is False

    await store.set_allow_first_record_file_loss("TA", None, True)
    assert (await store.get("TA")).allow_first_record_file_loss is True  # type: ignore[union-attr]
    assert (await store.get("TB")).allow_first_record_file_loss is False  # type: ignore[union-attr]
    # Reconnecting PMP keeps the choice; switching it off is remembered too.
    await store.save_credentials("TA", None, URL_A, TOKEN_B, "UADMIN", now=T0)
    assert (await store.get("TA")).allow_first_record_file_loss is True  # type: ignore[union-attr]
    await store.set_allow_first_record_file_loss("TA", None, False)
    assert (await store.get("TA")).allow_first_record_file_loss is False  # type: ignore[union-attr]


def test_ticket_settings_validation_and_immutability() -> None:
    with pytest.raises(ValueError, match="departments"):
        TicketSettings(departments={-1: "x"})
    with pytest.raises(ValueError, match="needs a name"):
        TicketSettings(services={2: "  "})
    settings = TicketSettings(departments={1: "Support"})
    with pytest.raises(TypeError):
        settings.departments[2] = "Sales"  # type: ignore[index]
    assert TicketSettings.from_json(settings.to_json()) == settings


async def test_two_teams_are_kept_apart(store: WorkspaceStore) -> None:
    await store.save_credentials("TA", None, URL_A, TOKEN_A, "UA")
    await store.save_credentials("TB", None, URL_B, TOKEN_B, "UB")
    await store.set_notify_channel("TA", None, "CA")
    await store.set_ticket_settings("TB", None, TicketSettings(departments={9: "B only"}))

    a, b = await store.get_credentials("TA"), await store.get_credentials("TB")
    assert a is not None and b is not None
    assert (a.base_url, a.token.get_secret_value()) == (URL_A, TOKEN_A)
    assert (b.base_url, b.token.get_secret_value()) == (URL_B, TOKEN_B)
    assert (await store.get("TB")).notify_channel_id is None  # type: ignore[union-attr]
    assert await store.get_ticket_settings("TA") == TicketSettings.fresh_install()

    await store.clear_credentials("TA")
    assert await store.get_credentials("TA") is None
    assert await store.get_credentials("TB") is not None

    # The same team id under an enterprise is a different workspace.
    assert await store.get("TA", "E1") is None
    assert await store.get_credentials("TB", "E1") is None


async def test_enterprise_grid_org_wide_install(store: WorkspaceStore) -> None:
    await store.save_credentials(None, "E1", URL_A, TOKEN_A, "UORG")
    await store.save_credentials("T1", "E1", URL_B, TOKEN_B, "UWS")
    org = await store.get(None, "E1")
    assert org is not None
    assert (org.team_id, org.enterprise_id) == (None, "E1")
    assert await store.get("", "E1") == org
    org_credentials = await store.get_credentials("", "E1")
    ws_credentials = await store.get_credentials("T1", "E1")
    assert org_credentials is not None and ws_credentials is not None
    assert org_credentials.token.get_secret_value() == TOKEN_A
    assert ws_credentials.token.get_secret_value() == TOKEN_B
    assert await store.get("T1") is None  # without the enterprise id it is not the same


async def test_delete_workspace_removes_only_that_workspace(
    store: WorkspaceStore, db: Database
) -> None:
    recent = RecentLookupsStore(db)
    idempotency = IdempotencyStore(db)
    for team, url, token in (("TA", URL_A, TOKEN_A), ("TB", URL_B, TOKEN_B)):
        await store.save_credentials(team, None, url, token, "U1")
        await recent.add(team, "U1", "customer", 1, f"Customer of {team}")
        assert await idempotency.claim(f"{team}:view-1", team)

    assert await store.delete_workspace("TA") is True
    assert await store.get("TA") is None
    assert await store.get_credentials("TA") is None
    assert await recent.recent("TA", "U1") == []
    assert await idempotency.claim("TA:view-1", "TA") is True  # its key was removed

    assert await store.get_credentials("TB") is not None
    assert [r.label for r in await recent.recent("TB", "U1")] == ["Customer of TB"]
    assert await idempotency.claim("TB:view-1", "TB") is False


async def test_data_survives_a_restart(target: DatabaseTarget, cipher: TokenCipher) -> None:
    first = await target.connect()
    try:
        await first.create_schema()
        store = WorkspaceStore(first, cipher)
        await store.save_credentials("TA", None, URL_A, TOKEN_A, "U1", now=T0)
        await store.set_notify_channel("TA", None, "CNOTE")
        await store.set_ticket_settings("TA", None, TicketSettings(services={3: "Cloud"}))
    finally:
        await first.dispose()

    second = await target.connect()
    try:
        await second.create_schema()
        store = WorkspaceStore(second, cipher)
        workspace = await store.get("TA")
        credentials = await store.get_credentials("TA")
        assert workspace is not None and credentials is not None
        assert (workspace.connected_at, workspace.notify_channel_id) == (T0, "CNOTE")
        assert dict(workspace.ticket_settings.services) == {3: "Cloud"}
        assert credentials.token.get_secret_value() == TOKEN_A
    finally:
        await second.dispose()


async def test_key_rotation(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    old_key, new_key = TokenCipher.generate_key(), TokenCipher.generate_key()
    before = WorkspaceStore(db, TokenCipher.from_keys([old_key]))
    await before.save_credentials("TA", None, URL_A, TOKEN_A, "U1")
    await before.save_credentials("TB", None, URL_B, TOKEN_B, "U1")

    rotating = WorkspaceStore(db, TokenCipher.from_keys([new_key, old_key]))
    new_only = WorkspaceStore(db, TokenCipher.from_keys([new_key]))
    credentials = await rotating.get_credentials("TA")  # old key still decrypts
    assert credentials is not None and credentials.token.get_secret_value() == TOKEN_A
    # A token the keys can't open: no credentials, and the workspace must connect again.
    assert await new_only.get_credentials("TA") is None
    unreadable = await new_only.get("TA")
    assert unreadable is not None and unreadable.needs_reconnect and not unreadable.is_connected
    assert await new_only.check_stored_token() is False
    assert await rotating.check_stored_token() is True

    # New writes use the new key.
    await rotating.save_credentials("TC", None, URL_A, "token-c", "U1")
    credentials = await new_only.get_credentials("TC")
    assert credentials is not None and credentials.token.get_secret_value() == "token-c"

    assert await rotating.reencrypt_all() == 2
    assert await rotating.reencrypt_all() == 0  # nothing left under the old key
    for team, token in (("TA", TOKEN_A), ("TB", TOKEN_B), ("TC", "token-c")):
        credentials = await new_only.get_credentials(team)
        assert credentials is not None and credentials.token.get_secret_value() == token
        assert credentials.version == 1  # same credentials, so pooled clients stay valid

    # A token no configured key opens is reported and skipped, never fatal.
    stranger = WorkspaceStore(db, TokenCipher.from_keys([TokenCipher.generate_key()]))
    await stranger.save_credentials("TX", None, URL_A, "token-x", "U1")
    with caplog.at_level(logging.WARNING, logger="bot.storage.workspaces"):
        assert await new_only.reencrypt_all() == 0
    assert "TX" in caplog.text
    assert "token-x" not in caplog.text


async def test_token_is_stored_encrypted(store: WorkspaceStore, db: Database) -> None:
    await store.save_credentials("TA", None, URL_A, TOKEN_A, "U1")
    async with db.read() as conn:
        stored = (await conn.execute(select(workspaces.c.pmp_token_encrypted))).scalar_one()
    assert TOKEN_A not in stored
    assert stored.startswith("gAAAAA")  # Fernet


async def test_raw_token_is_absent_from_the_sqlite_files(
    target: DatabaseTarget, cipher: TokenCipher
) -> None:
    if target.sqlite_path is None:
        pytest.skip("inspects the SQLite database file")
    db = await target.connect()
    try:
        await db.create_schema()
        store = WorkspaceStore(db, cipher)
        await store.save_credentials("TA", None, URL_A, TOKEN_A, "U1")
        await store.save_credentials("TA", None, URL_A, TOKEN_B, "U1")  # old value overwritten
        # Read while the connection is open too: data may still sit in the -wal file.
        _assert_absent(target.sqlite_path.parent, [TOKEN_A, TOKEN_B], URL_A)
    finally:
        await db.dispose()
    _assert_absent(target.sqlite_path.parent, [TOKEN_A, TOKEN_B], URL_A)


def _assert_absent(directory: Path, secrets: list[str], present: str) -> None:
    contents = b"".join(path.read_bytes() for path in sorted(directory.iterdir()))
    assert present.encode() in contents  # proves the data really is in these files
    for secret in secrets:
        assert secret.encode() not in contents


async def test_workspace_options_are_saved_and_checked(store: WorkspaceStore) -> None:
    await store.set_options("TA", None, unfurl_mode="everywhere", poll_interval_seconds=120)
    workspace = await store.get("TA")
    assert workspace is not None
    assert workspace.unfurl_mode == "everywhere"
    assert workspace.poll_interval_seconds == 120
    assert workspace.members_may_subscribe is False
    assert workspace.unfurl_in_slack_connect is False
    await store.set_options("TA", None, members_may_subscribe=True, unfurl_in_slack_connect=True)
    workspace = await store.get("TA")
    assert workspace is not None
    assert (workspace.unfurl_mode, workspace.members_may_subscribe) == ("everywhere", True)
    assert workspace.unfurl_in_slack_connect is True
    with pytest.raises(ValueError, match="unfurl_mode"):
        await store.set_options("TA", None, unfurl_mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="poll_interval_seconds"):
        await store.set_options("TA", None, poll_interval_seconds=1)

from __future__ import annotations

import logging
import os
import stat
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.config import (
    DEFAULT_SLACK_SCOPES,
    SettingsError,
    load_settings,
)
from bot.crypto import TokenCipher

KEY_1 = TokenCipher.generate_key()
KEY_2 = TokenCipher.generate_key()
BOT_TOKEN = "xoxb-1-2-botsecret"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
CLIENT_SECRET = "client-secret-value"
APP_TOKEN = "xapp-1-A1-appsecret"


def _error(env_file: Path | None = None, /, **overrides: object) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=env_file, **overrides)
    message = str(caught.value)
    assert "\n" not in message
    assert "Traceback" not in message
    return message


# --- defaults and parsing --------------------------------------------------------------------


def test_defaults_need_no_setting(tmp_path: Path) -> None:
    settings = load_settings(env_file=None)
    assert settings.slack_signing_secret is None
    assert settings.slack_bot_token is None
    assert settings.slack_scopes == DEFAULT_SLACK_SCOPES
    assert DEFAULT_SLACK_SCOPES[:3] == ("commands", "chat:write", "users:read")
    assert {"links:read", "links:write"} <= set(DEFAULT_SLACK_SCOPES)
    assert "users:read.email" in DEFAULT_SLACK_SCOPES
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.host == "127.0.0.1"
    assert settings.port == 3000
    assert settings.log_level == "INFO"
    assert settings.pmp_timeout == 10.0
    assert settings.pmp_bot_allow_delete_for_all is False
    assert settings.pmp_bot_admins == ()
    assert settings.admin_user_ids == frozenset()
    assert settings.uses_default_database is True
    assert settings.oauth_enabled is False
    assert settings.single_workspace is False
    database = tmp_path / "data" / "pmp-bot.sqlite3"
    assert settings.async_database_url == f"sqlite+aiosqlite:///{database}"
    assert settings.default_database_path == database
    assert settings.secret_key_path == tmp_path / "data" / "secret.key"
    # Loading settings writes nothing.
    assert not (tmp_path / "data").exists()


def test_data_dir_moves_the_default_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMP_BOT_DATA_DIR", str(tmp_path / "state"))
    settings = load_settings(env_file=None)
    assert settings.async_database_url == f"sqlite+aiosqlite:///{tmp_path}/state/pmp-bot.sqlite3"
    assert settings.uses_default_database is True


def test_relative_data_dir_is_resolved_against_the_working_directory(tmp_path: Path) -> None:
    settings = load_settings(env_file=None, pmp_bot_data_dir="var/pmp")
    assert settings.data_dir == tmp_path / "var" / "pmp"
    assert make_url(settings.async_database_url).database == str(
        tmp_path / "var" / "pmp" / "pmp-bot.sqlite3"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///bot.sqlite3", "sqlite+aiosqlite:///bot.sqlite3"),
        ("sqlite:////srv/pmp/bot.sqlite3", "sqlite+aiosqlite:////srv/pmp/bot.sqlite3"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("sqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("sqlite+aiosqlite:///bot.sqlite3", "sqlite+aiosqlite:///bot.sqlite3"),
        ("postgres://bot:pw@db:5432/pmp", "postgresql+asyncpg://bot:pw@db:5432/pmp"),
        ("postgresql://bot:pw@db/pmp", "postgresql+asyncpg://bot:pw@db/pmp"),
        ("postgresql+asyncpg://bot:pw@db/pmp", "postgresql+asyncpg://bot:pw@db/pmp"),
        ("postgresql://bot@db/pmp?sslmode=require", "postgresql+asyncpg://bot@db/pmp?ssl=require"),
    ],
)
def test_database_url_forms(given: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    monkeypatch.setenv("PMP_BOT_SECRET_KEY", KEY_1)
    settings = load_settings(env_file=None)
    assert settings.async_database_url == expected
    assert settings.uses_default_database is False


def test_database_password_is_masked_for_display() -> None:
    settings = load_settings(
        env_file=None, database_url="postgresql://bot:hunter2@db/pmp", pmp_bot_secret_key=KEY_1
    )
    assert "hunter2" not in settings.database_url_for_display
    assert "hunter2" in settings.async_database_url


def test_environment_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = {
        "SLACK_API_URL": "https://slack-gov.com/api",
        "SLACK_SCOPES": "commands, chat:write ,users:read,im:history,commands",
        "PMP_BOT_ADMINS": "U012AB3CD, W045EF6GH,U012AB3CD",
        "HOST": "0.0.0.0",
        "PORT": "8080",
        "LOG_LEVEL": "debug",
        "PMP_TIMEOUT": "2.5",
        "PMP_BOT_ALLOW_DELETE_FOR_ALL": "yes",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env_file=None)
    assert settings.slack_api_url == "https://slack-gov.com/api/"
    assert settings.slack_scopes == ("commands", "chat:write", "users:read", "im:history")
    assert settings.scopes == ["commands", "chat:write", "users:read", "im:history"]
    assert settings.pmp_bot_admins == ("U012AB3CD", "W045EF6GH")
    assert settings.admin_user_ids == {"U012AB3CD", "W045EF6GH"}
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.log_level == "DEBUG"
    assert settings.pmp_timeout == 2.5
    assert settings.pmp_bot_allow_delete_for_all is True


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("false", False), ("off", False)])
def test_booleans(raw: str, expected: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMP_BOT_ALLOW_DELETE_FOR_ALL", raw)
    assert load_settings(env_file=None).pmp_bot_allow_delete_for_all is expected


# --- .env file and precedence ----------------------------------------------------------------


def test_env_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text(
        f"SLACK_BOT_TOKEN={BOT_TOKEN}\nPORT=4000\nLOG_LEVEL=WARNING\n"
        "# a comment\nSLACK_APP_TOKEN=\nUNRELATED_SETTING=1\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings(env_file=env_file, log_level="ERROR")
    assert settings.bot_token() == BOT_TOKEN  # from the file
    assert settings.port == 5000  # environment beats the file
    assert settings.log_level == "ERROR"  # overrides beat both
    assert settings.slack_app_token is None  # "KEY=" means unset


def test_default_env_file_is_dot_env_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=4321\n", encoding="utf-8")
    assert load_settings().port == 4321
    assert load_settings(env_file=None).port == 3000


def test_missing_env_file_is_fine(tmp_path: Path) -> None:
    assert load_settings(env_file=tmp_path / "absent.env").port == 3000


def test_env_file_errors_are_one_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=eighty\n", encoding="utf-8")
    assert _error(env_file) == "PORT must be a whole number from 1 to 65535 (got 'eighty')."


def test_unknown_override_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="prot"):
        load_settings(env_file=None, prot=1)


def test_settings_are_immutable() -> None:
    settings = load_settings(env_file=None)
    with pytest.raises(ValueError):
        settings.port = 1  # type: ignore[misc]


# --- error lines -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"port": "abc"}, "PORT must be a whole number from 1 to 65535 (got 'abc')."),
        ({"port": 70000}, "PORT must be a whole number from 1 to 65535 (got 70000)."),
        (
            {"pmp_timeout": "0"},
            "PMP_TIMEOUT must be a number of seconds above 0 and at most 300, like 10 or 2.5 "
            "(got '0').",
        ),
        (
            {"pmp_bot_allow_delete_for_all": "maybe"},
            "PMP_BOT_ALLOW_DELETE_FOR_ALL must be true or false (got 'maybe').",
        ),
        (
            {"log_level": "loud"},
            "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'loud').",
        ),
        ({"host": "  "}, "HOST must not be empty: use 127.0.0.1 or 0.0.0.0."),
        (
            {"slack_api_url": "slack.com/api"},
            "SLACK_API_URL must be an http(s) URL like https://slack.com/api/ "
            "(got 'slack.com/api').",
        ),
        (
            {"slack_scopes": " , "},
            "SLACK_SCOPES must be Slack scopes separated by commas, like "
            f"{','.join(DEFAULT_SLACK_SCOPES)} (got ' , ').",
        ),
        (
            {"pmp_bot_admins": "U012AB3CD,alice"},
            "PMP_BOT_ADMINS must be Slack user ids separated by commas, like "
            "U012AB3CD,U045EF6GH (got 'alice'; find a member id in the user's Slack profile, "
            "menu > Copy member ID).",
        ),
        (
            {"slack_bot_token": "xoxp-user-token"},
            "SLACK_BOT_TOKEN must be a bot token starting with xoxb-: copy the Bot User OAuth "
            "Token from your Slack app's OAuth & Permissions page.",
        ),
        (
            {"slack_bot_token": "xoxe.xoxb-1-rotating"},
            "SLACK_BOT_TOKEN is a rotating token (xoxe.…) that expires after 12 hours: turn "
            "token rotation off (token_rotation_enabled: false in the manifest), reinstall and "
            "copy the new xoxb- token, or use OAuth mode (SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET) instead.",
        ),
        (
            {"slack_bot_token": "xoxe-1-refresh-token"},
            "SLACK_BOT_TOKEN is a rotating token (xoxe.…) that expires after 12 hours: turn "
            "token rotation off (token_rotation_enabled: false in the manifest), reinstall and "
            "copy the new xoxb- token, or use OAuth mode (SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET) instead.",
        ),
        (
            {"slack_app_token": "xoxb-wrong-kind"},
            "SLACK_APP_TOKEN must be an app-level token starting with xapp-: create one with "
            "the connections:write scope under Basic Information > App-Level Tokens.",
        ),
    ],
)
def test_error_lines(overrides: dict[str, object], expected: str) -> None:
    assert _error(**overrides) == expected


def test_error_lines_for_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMP_TIMEOUT", "soon")
    assert _error().startswith("PMP_TIMEOUT must be a number of seconds")


def test_unsupported_database_is_named_with_the_password_masked() -> None:
    message = _error(database_url="mysql://bot:hunter2@db/pmp", pmp_bot_secret_key=KEY_1)
    assert message == (
        "DATABASE_URL uses 'mysql', which pmp-bot does not support; use a sqlite:/// or "
        "postgresql:// URL (got 'mysql://bot:***@db/pmp')."
    )


def test_non_url_database() -> None:
    message = _error(database_url="my database", pmp_bot_secret_key=KEY_1)
    assert message.startswith("DATABASE_URL is not a database URL; use sqlite:///")


def test_malformed_secret_key_names_its_position_without_echoing_it() -> None:
    message = _error(pmp_bot_secret_key=f"{KEY_1},not-a-key")
    assert message.startswith(
        "PMP_BOT_SECRET_KEY must be Fernet keys separated by commas: Key 2 is not a Fernet key"
    )
    assert "not-a-key" not in message and KEY_1 not in message
    # The command names the Python running pmp-bot (its venv's), which has cryptography.
    assert f"Generate one with: {sys.executable} -c" in message


@pytest.mark.parametrize(
    "database_url", ["postgresql://bot@db/pmp", "sqlite:////srv/pmp/own.sqlite3"]
)
def test_own_database_without_a_key_refuses_to_start(database_url: str) -> None:
    message = _error(database_url=database_url)
    assert message.startswith(
        "PMP_BOT_SECRET_KEY is not set: with your own DATABASE_URL pmp-bot needs a key"
    )
    assert "every instance must use the same one" in message


# --- Slack credentials per mode --------------------------------------------------------------


def _require(socket_mode: bool = False, **overrides: object) -> str:
    settings = load_settings(env_file=None, **overrides)
    with pytest.raises(SettingsError) as caught:
        settings.require_slack_credentials(socket_mode=socket_mode)
    return str(caught.value)


def test_http_mode_needs_the_signing_secret() -> None:
    assert _require(slack_bot_token=BOT_TOKEN) == (
        "SLACK_SIGNING_SECRET is not set: copy it from your Slack app's Basic Information page."
    )


def test_a_bot_token_or_client_credentials_are_needed() -> None:
    assert _require(slack_signing_secret=SIGNING_SECRET).startswith(
        "SLACK_BOT_TOKEN is not set: set it (Bot User OAuth Token, from OAuth & Permissions) "
        "to serve one workspace, or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"
    )


def test_client_id_needs_its_secret_and_the_reverse() -> None:
    assert _require(slack_signing_secret=SIGNING_SECRET, slack_client_id="1.2").startswith(
        "SLACK_CLIENT_SECRET is not set: OAuth installs need it with SLACK_CLIENT_ID"
    )
    assert _require(
        slack_signing_secret=SIGNING_SECRET, slack_client_secret=CLIENT_SECRET
    ).startswith("SLACK_CLIENT_ID is not set: OAuth installs need it with SLACK_CLIENT_SECRET")


def test_both_modes_at_once_are_refused() -> None:
    assert _require(
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_client_id="1.2",
        slack_client_secret=CLIENT_SECRET,
    ).startswith("SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both set")


def test_socket_mode_needs_the_app_token_not_the_signing_secret() -> None:
    assert _require(socket_mode=True, slack_bot_token=BOT_TOKEN).startswith(
        "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token"
    )
    settings = load_settings(env_file=None, slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN)
    settings.require_slack_credentials(socket_mode=True)
    assert settings.app_token() == APP_TOKEN


def test_single_workspace_mode() -> None:
    settings = load_settings(
        env_file=None, slack_signing_secret=SIGNING_SECRET, slack_bot_token=BOT_TOKEN
    )
    settings.require_slack_credentials()
    assert settings.single_workspace is True
    assert settings.oauth_enabled is False
    assert settings.bot_token() == BOT_TOKEN
    assert settings.signing_secret() == SIGNING_SECRET


def test_oauth_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_CLIENT_ID", " 1234.5678 ")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", CLIENT_SECRET)
    settings = load_settings(env_file=None)
    settings.require_slack_credentials()
    assert settings.oauth_enabled is True
    assert settings.single_workspace is False
    assert settings.slack_client_id == "1234.5678"
    assert settings.client_secret() == CLIENT_SECRET
    assert settings.bot_token() is None


# --- secrets stay secret ---------------------------------------------------------------------


def test_secrets_are_secretstr_and_never_in_repr() -> None:
    settings = load_settings(
        env_file=None,
        slack_signing_secret=SIGNING_SECRET,
        slack_client_id="1.2",
        slack_client_secret=CLIENT_SECRET,
        slack_app_token=APP_TOKEN,
        database_url="postgresql://bot:hunter2@db/pmp",
        pmp_bot_secret_key=f"{KEY_1},{KEY_2}",
    )
    for field in (
        "slack_signing_secret",
        "slack_client_secret",
        "slack_app_token",
        "database_url",
        "pmp_bot_secret_key",
    ):
        assert isinstance(getattr(settings, field), SecretStr), field
    shown = repr(settings) + str(settings)
    for secret in (SIGNING_SECRET, CLIENT_SECRET, APP_TOKEN, "hunter2", KEY_1, KEY_2):
        assert secret not in shown
    assert repr(settings.token_cipher()) == "TokenCipher(keys=2)"


def test_secret_values_are_stripped() -> None:
    settings = load_settings(env_file=None, slack_bot_token=f"  {BOT_TOKEN}\n")
    assert settings.bot_token() == BOT_TOKEN


# --- encryption keys -------------------------------------------------------------------------


def test_configured_keys_first_encrypts_all_decrypt() -> None:
    settings = load_settings(env_file=None, pmp_bot_secret_key=f" {KEY_1} , {KEY_2} ")
    assert settings.secret_keys() == (KEY_1, KEY_2)
    ciphertext = settings.token_cipher().encrypt("pmp-token")
    assert TokenCipher.from_keys([KEY_1]).decrypt(ciphertext) == "pmp-token"
    old = TokenCipher.from_keys([KEY_2]).encrypt("old-token")
    assert settings.token_cipher().decrypt(old) == "old-token"


def test_default_database_generates_a_private_key_file_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(env_file=None)
    with caplog.at_level(logging.WARNING, logger="bot.config"):
        keys = settings.secret_keys()
    key_file = tmp_path / "data" / "secret.key"
    assert key_file.read_text(encoding="ascii").strip() == keys[0]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(key_file) in warnings[0].getMessage()
    assert keys[0] not in caplog.text
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["secret.key"]  # no leftovers

    # A later start reuses the key, quietly.
    caplog.clear()
    later = load_settings(env_file=None)
    with caplog.at_level(logging.WARNING, logger="bot.config"):
        assert later.secret_keys() == keys
    assert caplog.records == []
    ciphertext = settings.token_cipher().encrypt("pmp-token")
    assert later.token_cipher().decrypt(ciphertext) == "pmp-token"


def test_configured_key_wins_over_the_key_file(tmp_path: Path) -> None:
    load_settings(env_file=None).secret_keys()
    settings = load_settings(env_file=None, pmp_bot_secret_key=KEY_1)
    assert settings.secret_keys() == (KEY_1,)


def test_a_readable_by_others_key_file_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "data" / "secret.key"
    key_file.parent.mkdir()
    key_file.write_text(KEY_1 + "\n", encoding="ascii")
    os.chmod(key_file, 0o644)
    with caplog.at_level(logging.WARNING, logger="bot.config"):
        assert load_settings(env_file=None).secret_keys() == (KEY_1,)
    assert "chmod 600" in caplog.text
    assert KEY_1 not in caplog.text


def test_a_damaged_key_file_stops_start_up(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "secret.key"
    key_file.parent.mkdir()
    key_file.write_text("garbage\n", encoding="ascii")
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None).token_cipher()
    assert str(caught.value) == (
        f"The key file {key_file} does not hold a valid key: restore it from a backup, or set "
        "PMP_BOT_SECRET_KEY to the key it held."
    )


def test_an_unusable_data_directory_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="ascii")
    settings = load_settings(env_file=None, pmp_bot_data_dir=str(tmp_path / "a-file" / "data"))
    with pytest.raises(SettingsError) as caught:
        settings.secret_keys()
    message = str(caught.value)
    assert message.startswith("PMP_BOT_SECRET_KEY is not set and the key file ")
    assert "make the data directory writable or set PMP_BOT_SECRET_KEY" in message
    assert "\n" not in message


def test_instances_starting_together_agree_on_one_generated_key(tmp_path: Path) -> None:
    settings = load_settings(env_file=None)
    barrier = threading.Barrier(8)

    def start() -> tuple[str, ...]:
        barrier.wait()
        return settings.secret_keys()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: start(), range(8)))
    assert len(set(results)) == 1
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["secret.key"]

"""pmp-bot's settings, read from the environment and an optional `.env` file.

`load_settings()` is the entry point: a missing or malformed setting becomes a `SettingsError`
whose message is one line naming the variable and what it expects, fit to print at start-up.
Nothing here needs any setting, so the console shell runs on defaults; the modes that serve
Slack call `Settings.require_slack_credentials()` before starting.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import sys
from pathlib import Path
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic import model_validator as pydantic_model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL

from bot.crypto import InvalidKeyError, TokenCipher
from bot.pmp.network import AddressPolicy
from bot.storage.urls import DatabaseUrlError, display_database_url, to_async_database_url

__all__ = [
    "DEFAULT_SLACK_SCOPES",
    "SECRET_KEY_FILENAME",
    "Settings",
    "SettingsError",
    "load_settings",
]

logger = logging.getLogger(__name__)

DEFAULT_SLACK_SCOPES: tuple[str, ...] = (
    "commands",
    "chat:write",
    "users:read",
    # users.info's e-mail: a Slack user's PMP staff member is found by their e-mail.
    "users:read.email",
    "links:read",
    "links:write",
    # Subscriptions: a post whose delivery was cut short is looked for before it is resent.
    "channels:history",
    "groups:history",
    # Subscriptions: join a subscribed public channel; find channels and who is in them.
    "channels:join",
    "channels:read",
    "groups:read",
)
DEFAULT_DATABASE_FILENAME = "pmp-bot.sqlite3"
SECRET_KEY_FILENAME = "secret.key"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# With the Python that runs pmp-bot: it has cryptography, a system python3 may not.
_GENERATE_KEY_COMMAND = (
    f"{sys.executable or 'python3'} -c "
    '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_SCOPE = re.compile(r"^[a-z][a-z0-9_.:-]*$")
_LIST_SEPARATOR = re.compile(r"[\s,]+")

# What a setting expects, for values pydantic itself rejects (wrong type or out of range).
_EXPECTS: dict[str, str] = {
    "port": "must be a whole number from 1 to 65535",
    "pmp_timeout": "must be a number of seconds above 0 and at most 300, like 10 or 2.5",
    "pmp_bot_allow_delete_for_all": "must be true or false",
    "pmp_bot_allow_private_pmp": "must be true or false",
    "pmp_bot_max_pmp_response_mb": "must be a whole number of megabytes from 1 to 1000, like 10",
    "pmp_bot_result_cache_mb": "must be a whole number of megabytes from 1 to 100000, like 100",
    "host": "must be the address to listen on, like 127.0.0.1 or 0.0.0.0",
    "pmp_bot_data_dir": "must be a directory path",
}


# Never echoed back in an error message.
_SECRET_FIELDS = frozenset(
    {
        "slack_signing_secret",
        "slack_bot_token",
        "slack_client_secret",
        "slack_app_token",
        "database_url",
        "pmp_bot_secret_key",
    }
)


class SettingsError(Exception):
    """A setting is missing or malformed; ``str(error)`` is one line saying which and why."""


class _InvalidSetting(ValueError):
    """Raised by validators with the complete line to show."""


class Settings(BaseSettings):
    """Every setting of pmp-bot. Field names are the variable names in lower case."""

    model_config = SettingsConfigDict(
        env_file=None,
        env_file_encoding="utf-8",
        case_sensitive=False,
        # `KEY=` lines copied from .env.example mean "not set".
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_scopes: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SLACK_SCOPES
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    database_url: SecretStr | None = None
    pmp_bot_data_dir: Path = Path("data")
    pmp_bot_secret_key: SecretStr | None = None
    pmp_bot_admins: Annotated[tuple[str, ...], NoDecode] = ()
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65535)
    log_level: str = "INFO"
    pmp_timeout: float = Field(default=10.0, gt=0, le=300)
    pmp_bot_allow_delete_for_all: bool = False
    # Which PMP addresses pmp-bot may connect to besides public ones (bot.pmp.network).
    pmp_bot_allow_private_pmp: bool = False
    pmp_bot_pmp_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    # The most of one PMP answer read, and of memory kept for search results (megabytes).
    pmp_bot_max_pmp_response_mb: int = Field(default=10, ge=1, le=1000)
    pmp_bot_result_cache_mb: int = Field(default=100, ge=1, le=100_000)
    # Where PMP reaches pmp-bot from outside (its webhooks, https://bot.example.com); without
    # it a PMP 3.x is polled like 2.0.8.
    pmp_bot_public_url: str | None = None

    # --- validation -------------------------------------------------------------------------

    @field_validator(
        "slack_signing_secret",
        "slack_bot_token",
        "slack_client_secret",
        "slack_app_token",
        "pmp_bot_secret_key",
        "database_url",
        mode="before",
    )
    @classmethod
    def _strip_secret(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("slack_client_id", mode="before")
    @classmethod
    def _strip_client_id(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("host", mode="before")
    @classmethod
    def _host_present(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        if not value:
            raise _InvalidSetting("HOST must not be empty: use 127.0.0.1 or 0.0.0.0.")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().startswith("xoxe"):
            # `xoxe.xoxb-…` is a rotating access token (and `xoxe-…` its refresh token): it
            # stops working after 12 hours, and only OAuth mode refreshes tokens.
            raise _InvalidSetting(
                "SLACK_BOT_TOKEN is a rotating token (xoxe.…) that expires after 12 hours: "
                "turn token rotation off (token_rotation_enabled: false in the manifest), "
                "reinstall and copy the new xoxb- token, or use OAuth mode (SLACK_CLIENT_ID "
                "and SLACK_CLIENT_SECRET) instead."
            )
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise _InvalidSetting(
                "SLACK_BOT_TOKEN must be a bot token starting with xoxb-: copy the Bot User "
                "OAuth Token from your Slack app's OAuth & Permissions page."
            )
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise _InvalidSetting(
                "SLACK_APP_TOKEN must be an app-level token starting with xapp-: create one "
                "with the connections:write scope under Basic Information > App-Level Tokens."
            )
        return value

    @field_validator("slack_scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: Any) -> Any:
        if isinstance(value, str):
            scopes = tuple(dict.fromkeys(s for s in _LIST_SEPARATOR.split(value) if s))
            bad = [scope for scope in scopes if not _SLACK_SCOPE.match(scope)]
            if not scopes or bad:
                raise _InvalidSetting(
                    "SLACK_SCOPES must be Slack scopes separated by commas, like "
                    f"{','.join(DEFAULT_SLACK_SCOPES)} (got {value!r})."
                )
            return scopes
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _InvalidSetting(
                f"SLACK_API_URL must be an http(s) URL like https://slack.com/api/ (got {value!r})."
            )
        return value if value.endswith("/") else value + "/"

    @field_validator("pmp_bot_public_url")
    @classmethod
    def _public_url_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise _InvalidSetting(
                "PMP_BOT_PUBLIC_URL must be the http(s) address PMP reaches pmp-bot at, like "
                f"https://bot.example.com (got {value!r})."
            )
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url_usable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            to_async_database_url(value.get_secret_value())
        except DatabaseUrlError as error:
            shown = display_database_url(value.get_secret_value())
            raise _InvalidSetting(f"DATABASE_URL {error} (got {shown!r}).") from None
        return value

    @field_validator("pmp_bot_data_dir")
    @classmethod
    def _expand_data_dir(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("pmp_bot_secret_key")
    @classmethod
    def _secret_keys_usable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            TokenCipher.from_keys(_split_keys(value.get_secret_value()))
        except InvalidKeyError as error:
            raise _InvalidSetting(
                f"PMP_BOT_SECRET_KEY must be Fernet keys separated by commas: {error} "
                f"Generate one with: {_GENERATE_KEY_COMMAND}"
            ) from None
        return value

    @field_validator("pmp_bot_admins", mode="before")
    @classmethod
    def _split_admins(cls, value: Any) -> Any:
        if isinstance(value, str):
            admins = tuple(dict.fromkeys(a for a in _LIST_SEPARATOR.split(value) if a))
            bad = [admin for admin in admins if not _SLACK_USER_ID.match(admin)]
            if bad:
                raise _InvalidSetting(
                    "PMP_BOT_ADMINS must be Slack user ids separated by commas, like "
                    f"U012AB3CD,U045EF6GH (got {bad[0]!r}; find a member id in the user's "
                    "Slack profile, menu > Copy member ID)."
                )
            return admins
        return value

    @field_validator("pmp_bot_pmp_allowed_hosts", mode="before")
    @classmethod
    def _split_allowed_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(dict.fromkeys(h for h in _LIST_SEPARATOR.split(value) if h))
        if isinstance(value, list | tuple):
            try:
                AddressPolicy.from_entries(value)
            except ValueError as error:
                raise _InvalidSetting(
                    "PMP_BOT_PMP_ALLOWED_HOSTS must be host names and networks separated by "
                    f"commas, like crm.internal,10.20.0.0/16 (no https:// or port): {error}."
                ) from None
            return tuple(value)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_log_level(cls, value: Any) -> Any:
        if isinstance(value, str):
            level = value.strip().upper()
            if level not in LOG_LEVELS:
                raise _InvalidSetting(
                    f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (got {value!r})."
                )
            return level
        return value

    @pydantic_model_validator(mode="after")
    def _key_for_own_database(self) -> Self:
        if self.database_url is not None and self.pmp_bot_secret_key is None:
            raise _InvalidSetting(
                "PMP_BOT_SECRET_KEY is not set: with your own DATABASE_URL pmp-bot needs a key "
                "to encrypt PMP tokens, and every instance must use the same one. "
                f"Generate one with: {_GENERATE_KEY_COMMAND}"
            )
        return self

    # --- derived values ---------------------------------------------------------------------

    @property
    def uses_default_database(self) -> bool:
        """True when DATABASE_URL is unset and the embedded SQLite file is used."""
        return self.database_url is None

    @property
    def data_dir(self) -> Path:
        return self.pmp_bot_data_dir.absolute()

    @property
    def default_database_path(self) -> Path:
        return self.data_dir / DEFAULT_DATABASE_FILENAME

    @property
    def secret_key_path(self) -> Path:
        """Where a generated key lives (only used without PMP_BOT_SECRET_KEY)."""
        return self.data_dir / SECRET_KEY_FILENAME

    @property
    def async_database_url(self) -> str:
        """The database URL with its async driver (sqlite+aiosqlite or postgresql+asyncpg)."""
        if self.database_url is None:
            return URL.create(
                "sqlite+aiosqlite", database=str(self.default_database_path)
            ).render_as_string(hide_password=False)
        return to_async_database_url(self.database_url.get_secret_value())

    @property
    def database_url_for_display(self) -> str:
        """The database URL with the password masked, for logs."""
        return display_database_url(self.async_database_url)

    @property
    def oauth_enabled(self) -> bool:
        """Multi-workspace mode: installs via OAuth with SLACK_CLIENT_ID/SECRET."""
        return bool(self.slack_client_id) and self.slack_client_secret is not None

    @property
    def single_workspace(self) -> bool:
        """One workspace served with SLACK_BOT_TOKEN."""
        return self.slack_bot_token is not None and not self.oauth_enabled

    @property
    def pmp_address_policy(self) -> AddressPolicy:
        """Which PMP addresses may be connected to: public ones, plus what the operator
        allows with PMP_BOT_ALLOW_PRIVATE_PMP and PMP_BOT_PMP_ALLOWED_HOSTS."""
        return AddressPolicy.from_entries(
            self.pmp_bot_pmp_allowed_hosts, allow_private=self.pmp_bot_allow_private_pmp
        )

    @property
    def pmp_requires_https(self) -> bool:
        """In OAuth mode strangers connect PMPs: their URL must be https:// unless the
        operator allows private PMPs."""
        return self.oauth_enabled and not self.pmp_bot_allow_private_pmp

    @property
    def max_pmp_response_bytes(self) -> int:
        return self.pmp_bot_max_pmp_response_mb * 1_000_000

    @property
    def result_cache_bytes(self) -> int:
        return self.pmp_bot_result_cache_mb * 1_000_000

    @property
    def admin_user_ids(self) -> frozenset[str]:
        return frozenset(self.pmp_bot_admins)

    @property
    def scopes(self) -> list[str]:
        """The bot scopes to request on OAuth installs."""
        return list(self.slack_scopes)

    # Plain-text secrets for the libraries that need them; keep them out of logs.

    def signing_secret(self) -> str | None:
        return _reveal(self.slack_signing_secret)

    def bot_token(self) -> str | None:
        return _reveal(self.slack_bot_token)

    def client_secret(self) -> str | None:
        return _reveal(self.slack_client_secret)

    def app_token(self) -> str | None:
        return _reveal(self.slack_app_token)

    def require_slack_credentials(self, *, socket_mode: bool = False) -> None:
        """Check what serving Slack needs; raise SettingsError with the first gap.

        HTTP mode needs the signing secret, Socket Mode an app-level token; both need either a
        bot token (one workspace) or a client id and secret (OAuth installs).
        """
        if socket_mode and self.slack_app_token is None:
            raise SettingsError(
                "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...) "
                "with the connections:write scope, from Basic Information > App-Level Tokens."
            )
        if not socket_mode and self.slack_signing_secret is None:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is not set: copy it from your Slack app's Basic "
                "Information page."
            )
        has_client_id = bool(self.slack_client_id)
        has_client_secret = self.slack_client_secret is not None
        if self.slack_bot_token is not None and (has_client_id or has_client_secret):
            raise SettingsError(
                "SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both set: keep "
                "SLACK_BOT_TOKEN for one workspace, or the client id and secret for OAuth "
                "installs to many workspaces."
            )
        if has_client_id and not has_client_secret:
            raise SettingsError(
                "SLACK_CLIENT_SECRET is not set: OAuth installs need it with SLACK_CLIENT_ID; "
                "copy it from Basic Information > App Credentials."
            )
        if has_client_secret and not has_client_id:
            raise SettingsError(
                "SLACK_CLIENT_ID is not set: OAuth installs need it with SLACK_CLIENT_SECRET; "
                "copy it from Basic Information > App Credentials."
            )
        if self.slack_bot_token is None and not has_client_id:
            raise SettingsError(
                "SLACK_BOT_TOKEN is not set: set it (Bot User OAuth Token, from OAuth & "
                "Permissions) to serve one workspace, or set SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET to let many workspaces install pmp-bot."
            )

    def secret_keys(self) -> tuple[str, ...]:
        """The encryption keys, first one encrypting.

        From PMP_BOT_SECRET_KEY, or with the default database from ``secret.key`` in the data
        directory, which is generated (mode 0600) on first use. Raises SettingsError when the
        key file cannot be read or written.
        """
        if self.pmp_bot_secret_key is not None:
            return _split_keys(self.pmp_bot_secret_key.get_secret_value())
        if not self.uses_default_database:
            # Settings built this way pass validation only through model_construct().
            raise SettingsError(
                f"PMP_BOT_SECRET_KEY is not set. Generate one with: {_GENERATE_KEY_COMMAND}"
            )
        return _load_or_create_key_file(self.secret_key_path)

    def token_cipher(self) -> TokenCipher:
        """The cipher for stored tokens (see secret_keys() for where the keys come from)."""
        return TokenCipher.from_keys(self.secret_keys())


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Read settings from the environment, then ``env_file`` (if it exists), then ``overrides``.

    Environment variables win over the file; ``overrides`` (field names, e.g. ``port=8080``)
    win over both. ``env_file=None`` reads no file. Raises SettingsError with one line.
    """
    unknown = sorted(set(overrides) - set(Settings.model_fields))
    if unknown:
        raise TypeError(f"load_settings() got unknown settings: {', '.join(unknown)}")
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as error:
        raise SettingsError(_first_error_line(error)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"Cannot read the settings file {env_file}: {error}.") from None


def _first_error_line(error: ValidationError) -> str:
    details = error.errors()[0]
    cause = details.get("ctx", {}).get("error")
    if isinstance(cause, _InvalidSetting):
        return str(cause)
    loc = details.get("loc", ())
    field = str(loc[0]) if loc else ""
    variable = field.upper() or "A setting"
    expects = _EXPECTS.get(field, details.get("msg", "is not valid"))
    if field in _SECRET_FIELDS:
        return f"{variable} {expects}."
    return f"{variable} {expects} (got {details.get('input')!r})."


def _reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


def _split_keys(value: str) -> tuple[str, ...]:
    return tuple(key for key in _LIST_SEPARATOR.split(value) if key)


def _load_or_create_key_file(path: Path) -> tuple[str, ...]:
    try:
        keys = _read_key_file(path)
        if keys is None:
            keys = _create_key_file(path)
    except OSError as error:
        raise SettingsError(
            f"PMP_BOT_SECRET_KEY is not set and the key file {path} cannot be used "
            f"({error.strerror or error}): make the data directory writable or set "
            "PMP_BOT_SECRET_KEY."
        ) from None
    try:
        TokenCipher.from_keys(keys)
    except InvalidKeyError:
        raise SettingsError(
            f"The key file {path} does not hold a valid key: restore it from a backup, or "
            "set PMP_BOT_SECRET_KEY to the key it held."
        ) from None
    return keys


def _read_key_file(path: Path) -> tuple[str, ...] | None:
    try:
        content = path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning(
            "The key file %s can be read by other users (mode %o); restrict it with chmod 600.",
            path,
            mode,
        )
    return _split_keys(content)


def _create_key_file(path: Path) -> tuple[str, ...]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = TokenCipher.generate_key()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, f"{key}\n".encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        # link() never replaces: when another process made the file first, its key wins.
        os.link(temporary, path)
    except FileExistsError:
        existing = _read_key_file(path)
        if existing:
            return existing
        raise
    finally:
        temporary.unlink(missing_ok=True)
    logger.warning(
        "PMP_BOT_SECRET_KEY is not set: generated an encryption key for stored PMP tokens in "
        "%s. Back it up with the database; without it stored tokens cannot be read.",
        path,
    )
    return (key,)
